//! The operator web UI.
//!
//! Server-rendered HTML (askama templates in `coordinator/templates/`) that works without
//! JavaScript, plus a small hand-written script that keeps the overview live.
//!
//! # Routes
//! - `GET /login`, `POST /login` (form field `key`), `POST /logout`: the session cookie, see
//!   [`session`].
//! - `GET /`: the overview (monitors x regions matrix, edge nodes, status counts); redirects to
//!   `/login` without a valid session. Without JavaScript a `<noscript>` meta refresh reloads it
//!   every 10 s.
//! - `GET /fragment/overview`: the same overview as an HTML fragment (the template partial the
//!   page includes), for the script to swap in.
//! - `GET /monitors/{id}`: a monitor's detail page (header, a latency chart and uptime/latency
//!   summary per region over the last hour, the newest checks); `404` page for an unknown id,
//!   redirect to `/login` without a session. Linked from the monitor names in the overview.
//! - `GET /fragment/monitors/{id}`: the detail page's content as a fragment, for the script.
//! - `GET /events`: server-sent events; an event `changed` whenever the replicated state changes
//!   (debounced), see [`events`].
//! - `GET /static/app.js`, `GET /static/app.css`: assets embedded in the binary.
//!
//! Everything data-derived is escaped by askama. The one exception is the charts: inline SVG
//! built by [`chart`], which escapes every text it embeds, is inserted with `|safe`. HTML responses carry
//! a strict Content-Security-Policy (scripts and styles from this origin only, no framing) and
//! `Cache-Control: no-store`.

pub mod chart;
pub mod detail;
pub mod events;
pub mod format;
pub mod incidents;
pub mod overview;
pub mod session;
pub mod sla;
pub mod uptime;

use askama::Template;
use axum::body::Bytes;
use axum::extract::{Path, Query, State};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::api::views::{MonitorView, NodeView, ResultView};
use crate::context::Context;
use crate::now_ms;
use crate::ops::OpError;
use detail::MonitorDetail;
use netpulse_engine::state::Refused;
use netpulse_engine::state::StateError;
use overview::Overview;
use session::{authenticate, form_field, login_cookie, logout_cookie, verify_key, Denied};

/// The UI script, embedded.
pub const APP_JS: &str = include_str!("../../static/app.js");
/// The UI stylesheet, embedded.
pub const APP_CSS: &str = include_str!("../../static/app.css");

/// FNV-1a, at compile time, to version asset URLs by content.
const fn fnv1a(bytes: &[u8], mut h: u64) -> u64 {
    let mut i = 0;
    while i < bytes.len() {
        h ^= bytes[i] as u64;
        h = h.wrapping_mul(0x100_0000_01b3);
        i += 1;
    }
    h
}

/// Content hash of the embedded assets; pages link `/static/app.css?v=…` so a new binary's
/// assets are never served from a stale browser cache.
const ASSET_HASH: u64 = fnv1a(
    APP_CSS.as_bytes(),
    fnv1a(APP_JS.as_bytes(), 0xcbf2_9ce4_8422_2325),
);

/// How long browsers may cache the assets.
const ASSET_CACHE: &str = "public, max-age=86400";

/// Headers on every HTML response.
const CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
                   connect-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'";

/// Routes of the web UI.
pub fn router() -> Router<Context> {
    Router::new()
        .route("/", get(overview_page))
        .route("/login", get(login_page).post(login))
        .route("/logout", post(logout))
        .route("/fragment/overview", get(overview_fragment))
        .route("/monitors/{id}", get(monitor_page))
        .route("/reports/sla", get(sla_page))
        .route("/incidents/{id}/acknowledge", post(acknowledge_incident))
        .route("/fragment/monitors/{id}", get(monitor_fragment))
        .route("/events", get(events::events))
        .route("/static/app.js", get(app_js))
        .route("/static/app.css", get(app_css))
}

fn asset_version() -> String {
    format!("{:016x}", ASSET_HASH)
}

/// The login form.
#[derive(Template)]
#[template(path = "login.html")]
pub struct LoginPage {
    /// Query string of asset URLs.
    pub asset_version: String,
    /// Shown above the button after a failed attempt.
    pub error: Option<&'static str>,
}

/// The overview page.
#[derive(Template)]
#[template(path = "overview.html")]
pub struct OverviewPage {
    /// Query string of asset URLs.
    pub asset_version: String,
    /// Name of the API key the operator signed in with.
    pub key_name: String,
    /// What to show.
    pub ov: Overview,
}

/// The overview alone, as `/fragment/overview` returns it (the partial the page includes).
#[derive(Template)]
#[template(path = "overview_fragment.html")]
pub struct OverviewFragment {
    /// What to show.
    pub ov: Overview,
}

/// A monitor's detail page.
#[derive(Template)]
#[template(path = "monitor.html")]
pub struct MonitorPage {
    /// Query string of asset URLs.
    pub asset_version: String,
    /// Name of the API key the operator signed in with.
    pub key_name: String,
    /// What to show.
    pub d: MonitorDetail,
}

/// The detail alone, as `/fragment/monitors/{id}` returns it.
#[derive(Template)]
#[template(path = "monitor_fragment.html")]
pub struct MonitorFragment {
    /// What to show.
    pub d: MonitorDetail,
}

/// The page shown for an unknown monitor.
#[derive(Template)]
#[template(path = "not_found.html")]
pub struct NotFoundPage {
    /// Query string of asset URLs.
    pub asset_version: String,
    /// What was not found.
    pub what: String,
}

/// An HTML response with the UI's security and caching headers.
fn html(status: StatusCode, body: Result<String, askama::Error>) -> Response {
    match body {
        Ok(body) => {
            let mut r = (status, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(CSP),
            );
            h.insert(
                header::X_CONTENT_TYPE_OPTIONS,
                HeaderValue::from_static("nosniff"),
            );
            h.insert(
                header::REFERRER_POLICY,
                HeaderValue::from_static("same-origin"),
            );
            r
        }
        Err(e) => internal(e),
    }
}

/// Logs `detail` and answers a plain 500 that reveals nothing.
fn internal(detail: impl std::fmt::Display) -> Response {
    tracing::error!(error = %detail, "web UI request failed");
    (StatusCode::INTERNAL_SERVER_ERROR, "internal error\n").into_response()
}

/// The signed-in key of a page request, or the response that sends the browser to sign in.
fn signed_in(
    ctx: &Context,
    parts: &Parts,
) -> Result<netpulse_engine::model::ApiKeyRecord, Box<Response>> {
    match authenticate(ctx, parts) {
        Ok(r) => Ok(r),
        Err(Denied::Missing) => Err(Box::new(see_other("/login", None))),
        Err(Denied::Invalid) => Err(Box::new(see_other(
            "/login",
            Some(logout_cookie(&parts.headers)),
        ))),
        Err(Denied::State(e)) => Err(Box::new(internal(e))),
    }
}

/// Fragments are fetched by script: a lost session is a 401 for it to act on, not a redirect.
fn fragment_caller(ctx: &Context, parts: &Parts) -> Result<(), Box<Response>> {
    match authenticate(ctx, parts) {
        Ok(_) => Ok(()),
        Err(Denied::State(e)) => Err(Box::new(internal(e))),
        Err(_) => Err(Box::new(
            (StatusCode::UNAUTHORIZED, "sign in again\n").into_response(),
        )),
    }
}

fn see_other(to: &'static str, cookie: Option<String>) -> Response {
    let mut r = Redirect::to(to).into_response();
    if let Some(c) = cookie.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::SET_COOKIE, c);
    }
    r.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

/// Reads the state into an [`Overview`].
fn load_overview(ctx: &Context) -> Result<Overview, StateError> {
    let now = now_ms();
    let store = ctx.store();
    let monitors = store
        .monitors()?
        .iter()
        .map(|m| {
            Ok(MonitorView::build(
                m,
                &store.latest(&m.id)?,
                store.monitor_health(&m.id)?.as_ref(),
                store.log_time(now),
            ))
        })
        .collect::<Result<Vec<_>, StateError>>()?;
    let nodes = NodeView::all(store)?;
    let mut ov = Overview::build(&monitors, &nodes, now);
    // Open ones (from their index), then the newest resolved ones: bounded reads per render.
    let mut shown = store.open_incidents()?;
    shown.extend(store.incidents(incidents::SHOWN, |i| {
        i.status == netpulse_engine::alerting::IncidentStatus::Resolved
    })?);
    let incidents: Vec<_> = shown
        .iter()
        .map(crate::api::alert_views::incident)
        .collect();
    let mesh = crate::api::alert_views::mesh(&store.mesh_state()?, store.mesh_entries()?);
    ov.alerts = incidents::AlertsPanel::build(&incidents, &mesh, now);
    Ok(ov)
}

/// The monitor page's query: `?range=24h|7d|30d|90d` (anything else shows 24 h).
#[derive(Debug, Default, serde::Deserialize)]
struct DetailQuery {
    range: Option<String>,
}

/// Reads the state into a [`MonitorDetail`] with the uptime of `range`; `None` for an
/// unknown monitor.
fn load_detail(
    ctx: &Context,
    id: &str,
    range: uptime::Range,
) -> Result<Option<MonitorDetail>, StateError> {
    let now = now_ms();
    let store = ctx.store();
    let Some(m) = store.monitor(id)? else {
        return Ok(None);
    };
    let view = MonitorView::build(
        &m,
        &store.latest(id)?,
        store.monitor_health(id)?.as_ref(),
        store.log_time(now),
    );
    let window: Vec<ResultView> = store
        .results(
            id,
            Some(now - detail::WINDOW_MS),
            detail::MAX_WINDOW_RESULTS,
        )?
        .iter()
        .map(ResultView::from)
        .collect();
    let history: Vec<ResultView> = store
        .results(id, None, detail::HISTORY_ROWS)?
        .iter()
        .map(ResultView::from)
        .collect();
    let mut d = MonitorDetail::build(&view, &window, &history, now);
    let log_now = store.log_time(now);
    let report = store.uptime_report(
        id,
        log_now - range.span_ms(),
        log_now,
        range.step(),
        log_now,
    )?;
    d.uptime = Some(uptime::UptimePanel::build(
        &report,
        range,
        &format!("/monitors/{}", format::path_segment(id)),
    ));
    d.fragment_href = format!("{}?range={}", d.fragment_href, range.name());
    Ok(Some(d))
}

fn not_found(id: &str) -> Response {
    html(
        StatusCode::NOT_FOUND,
        NotFoundPage {
            asset_version: asset_version(),
            what: format!("There is no monitor with id {id:?}."),
        }
        .render(),
    )
}

async fn monitor_page(
    State(ctx): State<Context>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
    parts: Parts,
) -> Response {
    let record = match signed_in(&ctx, &parts) {
        Ok(r) => r,
        Err(to_login) => return *to_login,
    };
    match load_detail(&ctx, &id, uptime::Range::parse(q.range.as_deref())) {
        Ok(Some(d)) => {
            let page = MonitorPage {
                asset_version: asset_version(),
                key_name: record.name,
                d,
            };
            html(StatusCode::OK, page.render())
        }
        Ok(None) => not_found(&id),
        Err(e) => internal(e),
    }
}

/// The overview's "Acknowledge" button. A plain form POST: the session cookie is
/// `SameSite=Strict`, so another site cannot make the browser send it.
async fn acknowledge_incident(
    State(ctx): State<Context>,
    Path(id): Path<String>,
    parts: Parts,
) -> Response {
    let record = match signed_in(&ctx, &parts) {
        Ok(r) => r,
        Err(to_login) => return *to_login,
    };
    if !record.role.can_write() {
        return (StatusCode::FORBIDDEN, "this API key is read-only\n").into_response();
    }
    let ack = netpulse_engine::command::IncidentAction::Acknowledge;
    match crate::ops::incident_action(&ctx, id.clone(), ack, record.name).await {
        Err(OpError::Refused(Refused::NotFound(_))) => not_found(&id),
        Ok(()) => see_other("/", None),
        Err(e) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not acknowledged: {e}\n"),
        )
            .into_response(),
    }
}

async fn monitor_fragment(
    State(ctx): State<Context>,
    Path(id): Path<String>,
    Query(q): Query<DetailQuery>,
    parts: Parts,
) -> Response {
    if let Err(refused) = fragment_caller(&ctx, &parts) {
        return *refused;
    }
    match load_detail(&ctx, &id, uptime::Range::parse(q.range.as_deref())) {
        Ok(Some(d)) => html(StatusCode::OK, MonitorFragment { d }.render()),
        Ok(None) => (StatusCode::NOT_FOUND, "no such monitor\n").into_response(),
        Err(e) => internal(e),
    }
}

/// The SLA report page's form.
#[derive(Debug, Default, serde::Deserialize)]
struct SlaQuery {
    from: Option<String>,
    to: Option<String>,
    target: Option<String>,
}

/// The printable SLA report.
#[derive(Template)]
#[template(path = "sla.html")]
pub struct SlaPage {
    /// Query string of asset URLs.
    pub asset_version: String,
    /// Name of the API key the operator signed in with.
    pub key_name: String,
    /// What to show.
    pub r: sla::SlaReport,
}

async fn sla_page(State(ctx): State<Context>, Query(q): Query<SlaQuery>, parts: Parts) -> Response {
    let record = match signed_in(&ctx, &parts) {
        Ok(r) => r,
        Err(to_login) => return *to_login,
    };
    let now = ctx.store().log_time(now_ms());
    let form = sla::SlaForm::read(q.from.as_deref(), q.to.as_deref(), q.target.as_deref(), now);
    let store = ctx.store().clone();
    let (from, to, target) = (form.from_ms, form.to_ms, form.target);
    let rows = tokio::task::spawn_blocking(move || {
        crate::api::history::sla_rows(&store, from, to, target, now)
    })
    .await;
    match rows {
        Ok(Ok(rows)) => html(
            StatusCode::OK,
            SlaPage {
                asset_version: asset_version(),
                key_name: record.name,
                r: sla::SlaReport::build(form, &rows),
            }
            .render(),
        ),
        Ok(Err(e)) => internal(e),
        Err(e) => internal(e),
    }
}

async fn overview_page(State(ctx): State<Context>, parts: Parts) -> Response {
    let record = match signed_in(&ctx, &parts) {
        Ok(r) => r,
        Err(to_login) => return *to_login,
    };
    match load_overview(&ctx) {
        Ok(ov) => {
            let page = OverviewPage {
                asset_version: asset_version(),
                key_name: record.name,
                ov,
            };
            html(StatusCode::OK, page.render())
        }
        Err(e) => internal(e),
    }
}

async fn overview_fragment(State(ctx): State<Context>, parts: Parts) -> Response {
    if let Err(refused) = fragment_caller(&ctx, &parts) {
        return *refused;
    }
    match load_overview(&ctx) {
        Ok(ov) => html(StatusCode::OK, OverviewFragment { ov }.render()),
        Err(e) => internal(e),
    }
}

async fn login_page(State(ctx): State<Context>, parts: Parts) -> Response {
    if authenticate(&ctx, &parts).is_ok() {
        return see_other("/", None);
    }
    html(
        StatusCode::OK,
        LoginPage {
            asset_version: asset_version(),
            error: None,
        }
        .render(),
    )
}

async fn login(State(ctx): State<Context>, headers: HeaderMap, body: Bytes) -> Response {
    let key = form_field(&body, "key").unwrap_or_default();
    let key = key.trim();
    let error = match verify_key(&ctx, key) {
        Ok(_) => match login_cookie(key, &headers) {
            Some(cookie) => return see_other("/", Some(cookie)),
            None => "That API key is not valid.",
        },
        Err(Denied::State(e)) => return internal(e),
        Err(Denied::Missing | Denied::Invalid) if key.is_empty() => "Enter an API key.",
        Err(Denied::Missing | Denied::Invalid) => "That API key is not valid.",
    };
    html(
        StatusCode::UNAUTHORIZED,
        LoginPage {
            asset_version: asset_version(),
            error: Some(error),
        }
        .render(),
    )
}

async fn logout(headers: HeaderMap) -> Response {
    see_other("/login", Some(logout_cookie(&headers)))
}

fn asset(content_type: &'static str, body: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CACHE_CONTROL, ASSET_CACHE),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response()
}

async fn app_js() -> Response {
    asset("text/javascript; charset=utf-8", APP_JS)
}

async fn app_css() -> Response {
    asset("text/css; charset=utf-8", APP_CSS)
}

#[cfg(test)]
mod tests;
