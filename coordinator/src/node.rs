//! Starting and stopping a coordinator.
//!
//! [`start`] opens the data directory (one sled database for the Raft log and the state), loads
//! or creates the cluster CA, brings up Raft, creates the admin API key on first start, and binds
//! the QUIC endpoint for edge nodes and the HTTP server for the API and UI. The CLI and the tests
//! both go through it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use openraft::BasicNode;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{new_api_key, new_join_token};
use crate::context::{Context, WriteError};
use crate::edge::registry::Sessions;
use crate::edge::{EdgeServer, EdgeServerError};
use crate::raft::log_store::LogStore;
use crate::raft::network::SingleNodeNetwork;
use crate::raft::state_machine::StateMachine;
use crate::raft::Raft;
use crate::state::command::Command;
use crate::state::model::Role;
use crate::state::StateStore;
use crate::{ca, now_ms};

/// How to run a coordinator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory for the database and the CA; created if missing.
    pub data_dir: PathBuf,
    /// HTTP listen address (API, UI, health).
    pub http_listen: SocketAddr,
    /// QUIC listen address for edge nodes.
    pub quic_listen: SocketAddr,
    /// Raft node id of this coordinator.
    pub node_id: u64,
}

/// Why a coordinator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created or opened.
    #[error("data directory {path}: {detail}")]
    DataDir { path: String, detail: String },
    /// The CA could not be loaded or created.
    #[error(transparent)]
    Ca(#[from] ca::CaError),
    /// Raft failed to start or to elect a leader.
    #[error("raft: {0}")]
    Raft(String),
    /// A first-start write did not commit.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The QUIC endpoint could not be bound.
    #[error(transparent)]
    Edge(#[from] EdgeServerError),
    /// The HTTP listener could not be bound.
    #[error("bind HTTP {addr}: {source}")]
    Http { addr: SocketAddr, source: std::io::Error },
    /// Storage failed at start-up.
    #[error("state: {0}")]
    State(#[from] crate::state::StateError),
}

/// A running coordinator.
pub struct Running {
    /// Where the HTTP server listens.
    pub http_addr: SocketAddr,
    /// Where the QUIC endpoint listens.
    pub quic_addr: SocketAddr,
    /// The admin API key, only on the first start of a data directory.
    pub admin_key: Option<String>,
    /// Shared handle.
    pub ctx: Context,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    db: sled::Db,
}

fn raft_config() -> Result<Arc<openraft::Config>, StartError> {
    let cfg = openraft::Config {
        cluster_name: "netpulse".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(20_000),
        max_in_snapshot_log_to_keep: 1000,
        ..Default::default()
    };
    Ok(Arc::new(cfg.validate().map_err(|e| StartError::Raft(e.to_string()))?))
}

/// Starts a coordinator as a single-member cluster.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    let dir_err = |detail: String| StartError::DataDir { path: cfg.data_dir.display().to_string(), detail };
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| dir_err(e.to_string()))?;
    restrict_permissions(&cfg.data_dir);
    let db = sled::Config::new()
        .path(cfg.data_dir.join("db"))
        .open()
        .map_err(|e| dir_err(format!("cannot open database (is another coordinator using it?): {e}")))?;
    let ca = ca::load_or_create(&cfg.data_dir)?;

    let store = StateStore::open(&db)?;
    let log = LogStore::open(&db).map_err(|e| dir_err(e.to_string()))?;
    let sm = StateMachine::open(&db, store.clone()).map_err(|e| StartError::Raft(e.to_string()))?;
    let raft = Raft::new(cfg.node_id, raft_config()?, SingleNodeNetwork, log, sm)
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;
    if !raft.is_initialized().await.map_err(|e| StartError::Raft(e.to_string()))? {
        let members =
            BTreeMap::from([(cfg.node_id, BasicNode { addr: cfg.quic_listen.to_string() })]);
        raft.initialize(members).await.map_err(|e| StartError::Raft(e.to_string()))?;
    }
    raft.wait(Some(Duration::from_secs(30)))
        .metrics(|m| m.current_leader == Some(cfg.node_id), "this coordinator leads")
        .await
        .map_err(|e| StartError::Raft(e.to_string()))?;

    let ctx = Context::new(cfg.node_id, store.clone(), raft, ca, Sessions::default());
    ctx.write(Command::CoordinatorStarted { coordinator: cfg.node_id, at_ms: now_ms() }).await?;
    let admin_key = if store.has_api_keys() {
        None
    } else {
        let (key, record) = new_api_key("admin", Role::Admin, now_ms());
        ctx.write(Command::CreateApiKey(record)).await?;
        Some(key)
    };

    let (shutdown, shutdown_rx) = watch::channel(false);
    let identity = ca::coordinator_identity(ctx.ca(), &[cfg.quic_listen.ip()])?;
    let edge = EdgeServer::bind(cfg.quic_listen, &identity, ctx.ca().cert_der())?;
    let quic_addr = edge.local_addr().map_err(|e| StartError::Edge(EdgeServerError::Bind { addr: cfg.quic_listen, source: e }))?;
    let mut tasks = vec![tokio::spawn(edge.run(ctx.clone(), shutdown_rx.clone()))];

    let listener = tokio::net::TcpListener::bind(cfg.http_listen)
        .await
        .map_err(|source| StartError::Http { addr: cfg.http_listen, source })?;
    let http_addr = listener.local_addr().map_err(|source| StartError::Http { addr: cfg.http_listen, source })?;
    let app = crate::api::app(ctx.clone());
    let mut stop = shutdown_rx;
    tasks.push(tokio::spawn(async move {
        let served = axum::serve(listener, app)
            .with_graceful_shutdown(async move {
                let _ = stop.changed().await;
            })
            .await;
        if let Err(e) = served {
            tracing::error!(error = %e, "HTTP server failed");
        }
    }));
    Ok(Running { http_addr, quic_addr, admin_key, ctx, shutdown, tasks, db })
}

fn restrict_permissions(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot restrict data directory permissions");
    }
}

impl Running {
    /// Creates a join token valid for `ttl` (used by `netpulse up` for its own edge nodes).
    pub async fn create_join_token(&self, description: &str, ttl: Duration) -> Result<String, WriteError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let (token, record) = new_join_token(&self.ctx.ca().fingerprint(), description, now_ms(), ttl_ms);
        self.ctx.write(Command::CreateJoinToken(record)).await?;
        Ok(token.to_string())
    }

    /// Stops serving, shuts Raft down and flushes the database.
    pub async fn shutdown(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = tokio::time::timeout(Duration::from_secs(5), t).await;
        }
        if let Err(e) = self.ctx.raft().shutdown().await {
            tracing::warn!(error = %e, "raft shutdown");
        }
        if let Err(e) = self.db.flush_async().await {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}
