//! Demo targets for `netpulse up`: a small web shop and a TCP service on loopback, so the demo
//! monitors have something real to check on a machine without internet.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;

/// Addresses of the running demo targets.
pub struct DemoTargets {
    pub http: SocketAddr,
    pub tcp: SocketAddr,
}

/// Starts the demo HTTP and TCP targets on loopback (ephemeral ports).
pub async fn start() -> anyhow::Result<DemoTargets> {
    let http = TcpListener::bind("127.0.0.1:0").await?;
    let tcp = TcpListener::bind("127.0.0.1:0").await?;
    let targets = DemoTargets {
        http: http.local_addr()?,
        tcp: tcp.local_addr()?,
    };
    let checkouts = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/", get(|| async { Html("<!doctype html><title>Demo shop</title><h1>Demo shop</h1><p>Everything is fine.</p>") }))
        .route("/api/health", get(|| async { Json(serde_json::json!({"status": "ok"})) }))
        .route(
            "/checkout",
            get(move || {
                let n = checkouts.fetch_add(1, Ordering::Relaxed);
                async move {
                    if n % 4 == 3 {
                        (StatusCode::SERVICE_UNAVAILABLE, "checkout backend overloaded").into_response()
                    } else {
                        (StatusCode::OK, "checkout ready").into_response()
                    }
                }
            }),
        )
        .route(
            "/slow",
            get(|| async {
                tokio::time::sleep(Duration::from_secs(4)).await;
                "finally"
            }),
        );
    tokio::spawn(async move {
        if let Err(e) = axum::serve(http, app).await {
            tracing::error!(error = %e, "demo HTTP target stopped");
        }
    });
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = tcp.accept().await else {
                continue;
            };
            tokio::spawn(async move {
                let _ = sock.write_all(b"DEMO-DB READY\r\n").await;
            });
        }
    });
    Ok(targets)
}
