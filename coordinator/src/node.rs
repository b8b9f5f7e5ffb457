//! Starting and stopping a coordinator.
//!
//! [`start`] opens the data directory (one sled database for the Raft log and the state), then
//! takes one of three paths:
//! - **restart**: `cluster.json` names our id; Raft resumes from disk.
//! - **bootstrap**: a new cluster with us as member 1; the CA and the admin API key are created.
//! - **join**: we prove the join secret to a member, receive our id and the CA, start Raft
//!   empty and ask the leader to add us (learner first, then voter).
//!
//! It then serves edge nodes, peers and joiners on one QUIC endpoint and the API and UI over
//! HTTP. The CLI and the tests both go through it.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::identity::ClusterCa;
use openraft::BasicNode;
use serde::{Deserialize, Serialize};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::auth::{new_api_key, new_join_token};
use crate::cluster::join;
use crate::cluster::membership;
use crate::cluster::transport::Peers;
use crate::context::{Context, WriteError};
use crate::edge::registry::Sessions;
use crate::quic::{Endpoint, EndpointError};
use crate::raft::log_store::LogStore;
use crate::raft::network::QuicNetwork;
use crate::raft::state_machine::StateMachine;
use crate::raft::Raft;
use crate::store::StateStore;
use crate::{ca, now_ms};
use netpulse_engine::command::Command;
use netpulse_engine::model::Role;

/// How this coordinator becomes part of a cluster on its first start.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClusterMode {
    /// Start a new cluster (member 1).
    Bootstrap,
    /// Join the cluster of the member at this QUIC address.
    Join {
        /// `host:port` of any member's QUIC endpoint.
        member: String,
    },
}

/// How to run a coordinator.
#[derive(Debug, Clone)]
pub struct Config {
    /// Directory for the database and the CA; created if missing.
    pub data_dir: PathBuf,
    /// HTTP listen address (API, UI, health).
    pub http_listen: SocketAddr,
    /// QUIC listen address for edge nodes and peers.
    pub quic_listen: SocketAddr,
    /// Address other coordinators dial (default: the bound QUIC address).
    pub advertise: Option<String>,
    /// First-start behaviour; ignored on restarts.
    pub mode: ClusterMode,
    /// Shared secret that lets coordinators join (none: joins are refused).
    pub join_secret: Option<String>,
    /// An edge node not heard from for this long loses its checks to another node.
    pub node_timeout: Duration,
    /// Build a snapshot (and purge the log under it) after this many entries.
    pub snapshot_every: u64,
    /// Networks whose peers may read `/metrics` without an API key (`--metrics-allow`).
    pub metrics_allow: Vec<crate::metrics::Cidr>,
    /// How long raw results and rollups are kept (`--results-retention`, `--hourly-retention`,
    /// `--daily-retention`); the leader's applies to the whole cluster.
    pub retention: netpulse_engine::state::retention::Retention,
}

/// Default for [`Config::snapshot_every`].
pub const DEFAULT_SNAPSHOT_EVERY: u64 = 20_000;

/// Default for [`Config::node_timeout`].
pub const DEFAULT_NODE_TIMEOUT: Duration = Duration::from_secs(30);

impl Config {
    /// A single coordinator bootstrapping its own cluster (tests, `netpulse up`).
    pub fn standalone(data_dir: PathBuf, http_listen: SocketAddr, quic_listen: SocketAddr) -> Self {
        Self {
            data_dir,
            http_listen,
            quic_listen,
            advertise: None,
            mode: ClusterMode::Bootstrap,
            join_secret: None,
            node_timeout: DEFAULT_NODE_TIMEOUT,
            snapshot_every: DEFAULT_SNAPSHOT_EVERY,
            metrics_allow: Vec::new(),
            retention: netpulse_engine::state::retention::Retention::DEFAULT,
        }
    }
}

/// Why a coordinator could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The data directory could not be created or opened.
    #[error("data directory {path}: {detail}")]
    DataDir { path: String, detail: String },
    /// The configuration cannot work.
    #[error("configuration: {0}")]
    Config(String),
    /// The CA could not be loaded or created.
    #[error(transparent)]
    Ca(#[from] ca::CaError),
    /// Joining failed.
    #[error(transparent)]
    Join(#[from] join::JoinError),
    /// Raft failed to start or to elect a leader.
    #[error("raft: {0}")]
    Raft(String),
    /// A first-start write did not commit.
    #[error(transparent)]
    Write(#[from] WriteError),
    /// The QUIC endpoint could not be bound.
    #[error(transparent)]
    Edge(#[from] EndpointError),
    /// The HTTP listener could not be bound.
    #[error("bind HTTP {addr}: {source}")]
    Http {
        addr: SocketAddr,
        source: std::io::Error,
    },
    /// Storage failed at start-up.
    #[error("state: {0}")]
    State(#[from] netpulse_engine::state::StateError),
}

/// A running coordinator.
pub struct Running {
    /// Raft node id.
    pub node_id: u64,
    /// Where the HTTP server listens.
    pub http_addr: SocketAddr,
    /// Where the QUIC endpoint listens.
    pub quic_addr: SocketAddr,
    /// The admin API key, only on the first start of a bootstrapped cluster.
    pub admin_key: Option<String>,
    /// Shared handle.
    pub ctx: Context,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    db: sled::Db,
}

/// What the data directory remembers about cluster membership.
#[derive(Debug, Serialize, Deserialize)]
struct ClusterFile {
    node_id: u64,
}

/// sled's page cache. Its default (1 GiB) let resident memory grow with the database: at 5,000
/// monitors a coordinator held 24 KB per monitor. Hot state (votes, latest views, nodes, the
/// log's tail) fits in far less.
const SLED_CACHE_BYTES: u64 = 64 * 1024 * 1024;

fn raft_config(snapshot_every: u64) -> Result<Arc<openraft::Config>, StartError> {
    let cfg = openraft::Config {
        cluster_name: "netpulse".into(),
        heartbeat_interval: 250,
        election_timeout_min: 1000,
        election_timeout_max: 2000,
        max_payload_entries: crate::cluster::messages::MAX_PAYLOAD_ENTRIES,
        snapshot_max_chunk_size: 1024 * 1024,
        // openraft's default (200 ms per chunk) restarts a multi-MB snapshot from scratch on
        // every slow chunk: a follower out for a few seconds never caught up (chaos suite,
        // seed 7).
        install_snapshot_timeout: 10_000,
        snapshot_policy: openraft::SnapshotPolicy::LogsSinceLast(snapshot_every.max(10)),
        max_in_snapshot_log_to_keep: (snapshot_every / 20).clamp(0, 1000),
        ..Default::default()
    };
    Ok(Arc::new(
        cfg.validate()
            .map_err(|e| StartError::Raft(e.to_string()))?,
    ))
}

fn read_cluster_file(dir: &Path) -> Result<Option<ClusterFile>, StartError> {
    let p = dir.join("cluster.json");
    match std::fs::read(&p) {
        Ok(b) => serde_json::from_slice(&b)
            .map(Some)
            .map_err(|e| StartError::DataDir {
                path: p.display().to_string(),
                detail: e.to_string(),
            }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(StartError::DataDir {
            path: p.display().to_string(),
            detail: e.to_string(),
        }),
    }
}

fn write_cluster_file(dir: &Path, f: &ClusterFile) -> Result<(), StartError> {
    let p = dir.join("cluster.json");
    let tmp = dir.join("cluster.json.tmp");
    let err = |e: std::io::Error| StartError::DataDir {
        path: p.display().to_string(),
        detail: e.to_string(),
    };
    std::fs::write(&tmp, serde_json::to_vec(f).unwrap_or_default()).map_err(err)?;
    std::fs::File::open(&tmp)
        .and_then(|f| f.sync_all())
        .map_err(err)?;
    std::fs::rename(&tmp, &p).map_err(err)
}

/// File in the data directory holding the key that seals channel credentials.
pub const SECRET_KEY_FILE: &str = "secret.key";

/// Writes the key received when joining, readable by the owner only.
fn save_secret_key(dir: &Path, key: &netpulse_alert::SecretKey) -> std::io::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = dir.join(SECRET_KEY_FILE);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)?;
    f.write_all(key.to_base64().as_bytes())?;
    f.sync_all()
}

/// Starts a coordinator.
pub async fn start(cfg: Config) -> Result<Running, StartError> {
    let dir_err = |detail: String| StartError::DataDir {
        path: cfg.data_dir.display().to_string(),
        detail,
    };
    std::fs::create_dir_all(&cfg.data_dir).map_err(|e| dir_err(e.to_string()))?;
    restrict_permissions(&cfg.data_dir);
    let db = sled::Config::new()
        .path(cfg.data_dir.join("db"))
        .cache_capacity(SLED_CACHE_BYTES)
        .open()
        .map_err(|e| {
            dir_err(format!(
                "cannot open database (is another coordinator using it?): {e}"
            ))
        })?;

    // Bind UDP first: a joiner must tell the cluster its address before it has certificates.
    let socket = std::net::UdpSocket::bind(cfg.quic_listen).map_err(|source| {
        StartError::Edge(EndpointError::Bind {
            addr: cfg.quic_listen,
            source,
        })
    })?;
    let quic_addr = socket.local_addr().map_err(|source| {
        StartError::Edge(EndpointError::Bind {
            addr: cfg.quic_listen,
            source,
        })
    })?;
    let advertise = match &cfg.advertise {
        Some(a) => a.clone(),
        None if quic_addr.ip().is_unspecified() => {
            return Err(StartError::Config(format!(
                "--quic {quic_addr} is a wildcard address; give --advertise HOST:PORT so peers can reach this coordinator"
            )))
        }
        None => quic_addr.to_string(),
    };

    // Sessions this coordinator held before this moment are gone.
    let started_at_ms = now_ms();
    let existing = read_cluster_file(&cfg.data_dir)?;
    let first_start = existing.is_none();
    let (node_id, ca) = match (existing, &cfg.mode) {
        (Some(f), _) => {
            if !ca::exists(&cfg.data_dir) {
                return Err(dir_err(
                    "cluster.json present but the CA files are missing".into(),
                ));
            }
            (f.node_id, ca::load_or_create(&cfg.data_dir)?)
        }
        (None, ClusterMode::Bootstrap) => (1, ca::load_or_create(&cfg.data_dir)?),
        (None, ClusterMode::Join { member }) => {
            let secret = cfg
                .join_secret
                .as_deref()
                .ok_or_else(|| StartError::Config("--join needs --join-secret".into()))?;
            let grant = join::join(member, secret, &advertise).await?;
            let key = netpulse_alert::SecretKey::from_base64(&grant.secret_key)
                .map_err(|e| StartError::Config(format!("secret key from the cluster: {e}")))?;
            save_secret_key(&cfg.data_dir, &key).map_err(|e| dir_err(e.to_string()))?;
            let ca = ClusterCa::from_pem(&grant.ca_cert_pem, &grant.ca_key_pem)
                .map_err(ca::CaError::from)?;
            ca::save(&cfg.data_dir, &ca)?;
            (grant.node_id, ca)
        }
    };
    if first_start {
        write_cluster_file(&cfg.data_dir, &ClusterFile { node_id })?;
    }
    // Channel credentials are sealed with this key; NETPULSE_SECRET_KEY overrides the file.
    let secret_key = netpulse_alert::SecretKey::load(
        std::env::var(netpulse_alert::crypto::SECRET_KEY_ENV)
            .ok()
            .as_deref(),
        &cfg.data_dir.join(SECRET_KEY_FILE),
        true,
    )
    .map_err(|e| dir_err(format!("secret key: {e}")))?;

    let identity = ca::coordinator_identity(&ca, &[quic_addr.ip()])?;
    let peers = Peers::new(&identity, ca.cert_der(), quic_addr.ip())
        .map_err(|e| StartError::Config(e.to_string()))?;
    let store = StateStore::open(&db)?;
    let log = LogStore::open(&db).map_err(|e| dir_err(e.to_string()))?;
    let sm = StateMachine::open(&db, store.clone()).map_err(|e| StartError::Raft(e.to_string()))?;
    let raft = Raft::new(
        node_id,
        raft_config(cfg.snapshot_every)?,
        QuicNetwork::new(peers.clone()),
        log,
        sm,
    )
    .await
    .map_err(|e| StartError::Raft(e.to_string()))?;
    let edge = Endpoint::on_socket(socket, &identity, ca.cert_der())?;
    let (shutdown, shutdown_rx) = watch::channel(false);
    let ctx = Context::new(crate::context::Parts {
        id: node_id,
        store: store.clone(),
        raft: raft.clone(),
        ca,
        sessions: Sessions::default(),
        peers,
        secret_key,
        sender: netpulse_alert::Sender::try_new()
            .map_err(|e| StartError::Config(format!("alert sender: {e}")))?,
        shutdown: shutdown_rx.clone(),
    });

    let secret: Option<Arc<str>> = cfg.join_secret.as_deref().map(Arc::from);
    let mut tasks = vec![tokio::spawn(edge.run(
        ctx.clone(),
        secret,
        shutdown_rx.clone(),
    ))];

    let mut admin_key = None;
    match (&cfg.mode, first_start) {
        (ClusterMode::Bootstrap, true) => {
            if !raft
                .is_initialized()
                .await
                .map_err(|e| StartError::Raft(e.to_string()))?
            {
                let members = BTreeMap::from([(
                    node_id,
                    BasicNode {
                        addr: advertise.clone(),
                    },
                )]);
                raft.initialize(members)
                    .await
                    .map_err(|e| StartError::Raft(e.to_string()))?;
            }
            raft.wait(Some(Duration::from_secs(30)))
                .metrics(
                    |m| m.current_leader == Some(node_id),
                    "this coordinator leads",
                )
                .await
                .map_err(|e| StartError::Raft(e.to_string()))?;
            if !store.has_api_keys().map_err(StartError::State)? {
                let (key, record) = new_api_key("admin", Role::Admin, now_ms());
                ctx.write(Command::CreateApiKey(record)).await?;
                admin_key = Some(key);
            }
        }
        (ClusterMode::Join { member }, true) => {
            ask_to_be_added(&ctx, member, node_id, &advertise).await?;
        }
        _ => {}
    }
    tasks.push(tokio::spawn(announce_start(ctx.clone(), started_at_ms)));
    tasks.push(tokio::spawn(crate::metrics::watch_snapshots(
        ctx.clone(),
        shutdown_rx.clone(),
    )));
    tasks.extend(crate::drivers::spawn(
        &ctx,
        cfg.node_timeout,
        cfg.retention,
        &shutdown_rx,
    ));

    let listener = tokio::net::TcpListener::bind(cfg.http_listen)
        .await
        .map_err(|source| StartError::Http {
            addr: cfg.http_listen,
            source,
        })?;
    let http_addr = listener.local_addr().map_err(|source| StartError::Http {
        addr: cfg.http_listen,
        source,
    })?;
    let app = crate::http::app_with(
        ctx.clone(),
        crate::metrics::Allow::new(cfg.metrics_allow.clone()),
    )
    .into_make_service_with_connect_info::<SocketAddr>();
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
    Ok(Running {
        node_id,
        http_addr,
        quic_addr,
        admin_key,
        ctx,
        shutdown,
        tasks,
        db,
    })
}

/// Asks the cluster (through `member`, forwarded to the leader) to add us, retrying while the
/// cluster elects or catches us up.
async fn ask_to_be_added(
    ctx: &Context,
    member: &str,
    id: u64,
    addr: &str,
) -> Result<(), StartError> {
    use crate::cluster::messages::{ForwardError, PeerRequest, PeerResponse};
    let deadline = tokio::time::Instant::now() + membership::MEMBERSHIP_TIMEOUT;
    let req = PeerRequest::AddMember {
        id,
        addr: addr.to_owned(),
    };
    let mut target = member.to_owned();
    loop {
        match ctx
            .peers()
            .call(&target, &req, membership::MEMBERSHIP_TIMEOUT)
            .await
        {
            Ok(PeerResponse::Write(Ok(_))) => return Ok(()),
            // Follow the leader hint; fall back to the member we were given.
            Ok(PeerResponse::Write(Err(ForwardError::NotLeader { leader_addr, .. }))) => {
                target = leader_addr.unwrap_or_else(|| member.to_owned());
            }
            Ok(other) => tracing::warn!(answer = ?other, "not added yet; retrying"),
            Err(e) => {
                tracing::warn!(error = %e, "cannot reach {target} to be added; retrying");
                target = member.to_owned();
            }
        }
        if tokio::time::Instant::now() > deadline {
            return Err(StartError::Raft(format!(
                "not added to the cluster within {:?}",
                membership::MEMBERSHIP_TIMEOUT
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Records that this coordinator (re)started, so sessions it held before are closed in the
/// state. Retries until a leader takes it; it needs a quorum, which a restarting minority lacks.
async fn announce_start(ctx: Context, at_ms: i64) {
    for _ in 0..120 {
        match ctx
            .write(Command::CoordinatorStarted {
                coordinator: ctx.id(),
                at_ms,
            })
            .await
        {
            Ok(_) => return,
            Err(e) => tracing::debug!(error = %e, "start not recorded yet"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

fn restrict_permissions(dir: &std::path::Path) {
    use std::os::unix::fs::PermissionsExt;
    if let Err(e) = std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)) {
        tracing::warn!(dir = %dir.display(), error = %e, "cannot restrict data directory permissions");
    }
}

impl Running {
    /// Creates a join token valid for `ttl` (used by `netpulse up` for its own edge nodes).
    pub async fn create_join_token(
        &self,
        description: &str,
        ttl: Duration,
    ) -> Result<String, WriteError> {
        let ttl_ms = i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX);
        let (token, record) =
            new_join_token(&self.ctx.ca().fingerprint(), description, now_ms(), ttl_ms);
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
        self.ctx.peers().close();
        if let Err(e) = crate::store::flush_db(&self.db).await {
            tracing::error!(error = %e, "final flush failed");
        }
    }
}
