//! `GET /events`: server-sent events telling the UI that the state changed.
//!
//! The stream watches [`StateStore::subscribe`](crate::store::StateStore::subscribe). After the
//! first change it waits [`DEBOUNCE`] so a burst (a result batch, a config write and its session
//! events) becomes one event, then sends `event: changed` with `data: <config>.<results>` (the
//! version counters). Under a steady stream of results this yields at most one event per
//! [`DEBOUNCE`] interval. A comment line every [`KEEP_ALIVE`] keeps proxies from closing an idle
//! connection. The event carries no state: the client fetches `/fragment/overview`, which is
//! authorised and rendered like the page.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::request::Parts;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures::Stream;
use tokio::sync::watch;

use super::session::{authenticate, Denied};
use crate::context::Context;
use crate::store::Versions;

/// Quiet time after a change before the event is sent.
pub const DEBOUNCE: Duration = Duration::from_millis(250);

/// Interval of keep-alive comments.
pub const KEEP_ALIVE: Duration = Duration::from_secs(15);

/// A stream of `changed` events from a versions watch; ends when the state is dropped.
pub fn changes(rx: watch::Receiver<Versions>, debounce: Duration) -> impl Stream<Item = Event> {
    futures::stream::unfold(rx, move |mut rx| async move {
        rx.changed().await.ok()?;
        tokio::time::sleep(debounce).await;
        let v = *rx.borrow_and_update();
        let event = Event::default()
            .event("changed")
            .data(format!("{}.{}", v.config, v.results));
        Some((event, rx))
    })
}

pub(super) async fn events(State(ctx): State<Context>, parts: Parts) -> Response {
    match authenticate(&ctx, &parts) {
        Ok(_) => {}
        Err(Denied::State(e)) => return super::internal(e),
        Err(_) => return (StatusCode::UNAUTHORIZED, "sign in again\n").into_response(),
    }
    let stopping = {
        let ctx = ctx.clone();
        async move { ctx.stopping().await }
    };
    // End the stream when the coordinator stops, so graceful shutdown does not wait for it.
    let stream = futures::StreamExt::take_until(
        futures::StreamExt::map(
            changes(ctx.store().subscribe(), DEBOUNCE),
            Ok::<_, Infallible>,
        ),
        stopping,
    );
    let mut r = Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(KEEP_ALIVE))
        .into_response();
    // Tell buffering reverse proxies (nginx) to pass events through at once.
    r.headers_mut()
        .insert("x-accel-buffering", HeaderValue::from_static("no"));
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}
