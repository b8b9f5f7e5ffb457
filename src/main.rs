//! The `netpulse` command: glue only. Parses arguments, sets up logging, and calls into the
//! coordinator and edge-node crates; errors become a message on stderr and exit code 1.

mod demo;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context as _};
use clap::{Parser, Subcommand};
use netpulse_probes::{TargetPolicy, TargetRule};
use tokio::sync::watch;

/// mimalloc instead of glibc's malloc: an edge node allocates and frees small buffers for every
/// check on several threads, and glibc's arenas spent about a fifth of its CPU in malloc, free
/// and consolidation (issue 4's profile).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// NetPulse: distributed uptime and network monitoring.
#[derive(Debug, Parser)]
#[command(name = "netpulse", version, about)]
struct Cli {
    /// Log format on stderr.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// All-in-one demo: a coordinator, three edge nodes in three regions, demo targets and monitors.
    Up {
        /// Where everything is stored; survives restarts.
        #[arg(long, default_value = "netpulse-data")]
        data_dir: PathBuf,
        /// HTTP address of the UI and API.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        /// Let peers in this network read /metrics without an API key (repeatable).
        #[arg(long = "metrics-allow", value_name = "CIDR")]
        metrics_allow: Vec<netpulse_coordinator::metrics::Cidr>,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Run one coordinator.
    Coordinator {
        /// Database and CA directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// HTTP address of the UI and API.
        #[arg(long)]
        listen: SocketAddr,
        /// QUIC address edge nodes and other coordinators connect to.
        #[arg(long)]
        quic: SocketAddr,
        /// Start a new cluster (the default when neither --bootstrap nor --join is given).
        #[arg(long, conflicts_with = "join")]
        bootstrap: bool,
        /// Join the cluster of the coordinator at this QUIC address (first start only).
        #[arg(long, value_name = "HOST:PORT")]
        join: Option<String>,
        /// Secret shared by the members; needed to join, and to let others join.
        #[arg(long, env = "NETPULSE_JOIN_SECRET", hide_env_values = true)]
        join_secret: Option<String>,
        /// QUIC address the other coordinators dial (default: the --quic address).
        #[arg(long, value_name = "HOST:PORT")]
        advertise: Option<String>,
        /// Seconds without news from an edge node before its checks move to another node.
        #[arg(long, default_value_t = 30, value_parser = clap::value_parser!(u64).range(5..=86_400))]
        node_timeout: u64,
        /// Snapshot the state and purge the Raft log after this many entries.
        #[arg(long, default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(10..))]
        snapshot_every: u64,
        /// Let peers in this network read /metrics without an API key (repeatable), e.g.
        /// `10.0.0.0/8` or `127.0.0.1`; anyone else needs a viewer API key.
        #[arg(long = "metrics-allow", value_name = "CIDR")]
        metrics_allow: Vec<netpulse_coordinator::metrics::Cidr>,
        #[command(flatten)]
        retention: RetentionArgs,
    },
    /// Inspect or change the coordinator cluster through the API.
    Cluster {
        /// Coordinator API base URL.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        api: String,
        /// API key.
        #[arg(long, env = "NETPULSE_API_KEY", hide_env_values = true)]
        key: String,
        #[command(subcommand)]
        action: ClusterAction,
    },
    /// Run one edge node.
    Edge {
        /// Identity and result outbox directory.
        #[arg(long)]
        data_dir: PathBuf,
        /// Region tag, e.g. eu-west.
        #[arg(long)]
        region: String,
        /// Coordinator QUIC address (repeat, or separate with commas).
        #[arg(long = "coordinator", required = true, value_delimiter = ',')]
        coordinators: Vec<String>,
        /// Join token (needed only for the first start).
        #[arg(long, env = "NETPULSE_JOIN_TOKEN")]
        join_token: Option<String>,
        /// Label reported to the coordinators, `key=value` (repeatable).
        #[arg(long = "label", value_parser = parse_label)]
        labels: Vec<(String, String)>,
        /// Most probes running at once.
        #[arg(long, default_value_t = 512)]
        max_concurrent_checks: usize,
        /// Canary target, TCP connect to `HOST:PORT` (`[IPv6]:PORT`; repeatable). While most
        /// canaries fail, this node's results are marked impaired and do not vote. Default:
        /// a QUIC handshake with each coordinator.
        #[arg(long = "canary", value_name = "HOST:PORT", value_parser = parse_canary, conflicts_with = "no_canary")]
        canaries: Vec<String>,
        /// Run no canary checks: results are never marked impaired (single-box setups).
        #[arg(long)]
        no_canary: bool,
        /// Seconds between canary rounds.
        #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..=3600))]
        canary_interval: u64,
        /// Let probes connect to this network (repeatable): `CIDR[:PORT[-PORT]]`, e.g.
        /// `10.0.0.0/8`, `192.0.2.7:443`, `[fd00::/8]:8000-8999`. With any allow rule, probes
        /// reach only what an allow rule names. Link-local and cloud metadata addresses stay
        /// refused unless a rule at least as specific as their default names them.
        #[arg(long = "allow-target", value_name = "CIDR[:PORT[-PORT]]", value_parser = parse_target_rule)]
        allow_targets: Vec<TargetRule>,
        /// Refuse probes this network (repeatable, same form as --allow-target); beats every
        /// allow rule.
        #[arg(long = "deny-target", value_name = "CIDR[:PORT[-PORT]]", value_parser = parse_target_rule)]
        deny_targets: Vec<TargetRule>,
        /// Serve this node's own health for Prometheus at `http://ADDR/metrics` (session,
        /// outbox, checks, lateness, process). No key is asked: bind a private or loopback
        /// address, e.g. 127.0.0.1:9464. Port 0 picks a free port (printed on start).
        #[arg(long, value_name = "ADDR")]
        metrics_listen: Option<SocketAddr>,
    },
}

#[derive(Debug, Subcommand)]
enum ClusterAction {
    /// Leader, term, members and replication lag.
    Status,
    /// Remove a coordinator from the cluster.
    Remove {
        /// Raft id of the coordinator.
        id: u64,
    },
}

/// How long history is kept. The leader's values apply to the whole cluster: give every
/// coordinator the same.
#[derive(Debug, clap::Args)]
struct RetentionArgs {
    /// Keep raw results this long (`30s`, `90m`, `12h`, `7d`, `2w`, `1y`).
    #[arg(long, value_name = "SPAN", default_value = "7d", value_parser = parse_span)]
    results_retention: Duration,
    /// Keep hourly rollups this long.
    #[arg(long, value_name = "SPAN", default_value = "90d", value_parser = parse_span)]
    hourly_retention: Duration,
    /// Keep daily rollups and the decided-state timeline this long.
    #[arg(long, value_name = "SPAN", default_value = "730d", value_parser = parse_span)]
    daily_retention: Duration,
}

impl RetentionArgs {
    fn retention(&self) -> netpulse_engine::state::retention::Retention {
        let ms = |d: Duration| u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
        netpulse_engine::state::retention::Retention {
            results_ms: ms(self.results_retention),
            hourly_ms: ms(self.hourly_retention),
            daily_ms: ms(self.daily_retention),
        }
    }
}

/// A span like `30s`, `90m`, `12h`, `7d`, `2w` or `1y` (365 days); at least one second.
fn parse_span(s: &str) -> Result<Duration, String> {
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (n, unit) = s.split_at(split);
    let n: u64 = n
        .parse()
        .map_err(|_| format!("{s:?}: expected a number and a unit, like 7d"))?;
    let secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "y" => 365 * 86_400,
        _ => return Err(format!("{s:?}: unit must be s, m, h, d, w or y")),
    };
    match n.checked_mul(secs) {
        Some(0) => Err(format!("{s:?}: must be at least 1s")),
        Some(t) => Ok(Duration::from_secs(t)),
        None => Err(format!("{s:?}: too long")),
    }
}

fn parse_label(s: &str) -> Result<(String, String), String> {
    let (k, v) = s.split_once('=').ok_or("expected key=value")?;
    if k.is_empty() {
        return Err("empty label key".into());
    }
    Ok((k.to_owned(), v.to_owned()))
}

fn parse_target_rule(s: &str) -> Result<TargetRule, String> {
    s.parse()
        .map_err(|e: netpulse_probes::TargetRuleError| e.to_string())
}

fn parse_canary(s: &str) -> Result<String, String> {
    netpulse_edge::canary::parse_tcp_target(s).map_err(|e| e.to_string())?;
    Ok(s.trim().to_owned())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log_format);
    // One crypto provider for the whole process; the TLS configs also name it explicitly.
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    // This runtime lasts as long as the process, so the node's ICMP sockets can receive on it.
    netpulse_probes::icmp::IcmpSockets::use_runtime(runtime.handle().clone());
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sled=warn,openraft=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

async fn run(cmd: Command) -> anyhow::Result<()> {
    match cmd {
        Command::Up {
            data_dir,
            listen,
            metrics_allow,
            retention,
        } => up(data_dir, listen, metrics_allow, retention.retention()).await,
        Command::Coordinator {
            data_dir,
            listen,
            quic,
            bootstrap: _,
            join,
            join_secret,
            advertise,
            node_timeout,
            snapshot_every,
            metrics_allow,
            retention,
        } => {
            let mode = match join {
                Some(member) => netpulse_coordinator::node::ClusterMode::Join { member },
                None => netpulse_coordinator::node::ClusterMode::Bootstrap,
            };
            let cfg = netpulse_coordinator::node::Config {
                data_dir,
                http_listen: listen,
                quic_listen: quic,
                advertise,
                mode,
                join_secret,
                node_timeout: Duration::from_secs(node_timeout),
                snapshot_every,
                metrics_allow,
                retention: retention.retention(),
            };
            coordinator(cfg).await
        }
        Command::Cluster { api, key, action } => cluster(&api, &key, action).await,
        Command::Edge {
            data_dir,
            region,
            coordinators,
            join_token,
            labels,
            max_concurrent_checks,
            canaries,
            no_canary,
            canary_interval,
            allow_targets,
            deny_targets,
            metrics_listen,
        } => {
            let canaries = if no_canary {
                netpulse_edge::canary::CanaryTargets::Disabled
            } else if canaries.is_empty() {
                netpulse_edge::canary::CanaryTargets::Coordinators
            } else {
                netpulse_edge::canary::CanaryTargets::Tcp(canaries)
            };
            let cfg = netpulse_edge::node::Config {
                data_dir,
                region,
                coordinators,
                join_token,
                labels: labels.into_iter().collect::<BTreeMap<_, _>>(),
                max_concurrent_checks,
                canaries,
                canary_interval: Duration::from_secs(canary_interval),
                target_policy: TargetPolicy::new(allow_targets, deny_targets),
                metrics_listen,
            };
            let (stop, stop_rx) = watch::channel(false);
            let node = tokio::spawn(netpulse_edge::node::run(cfg, stop_rx));
            tokio::select! {
                r = node => r.context("edge node task")?.context("edge node")?,
                _ = shutdown_signal() => {
                    let _ = stop.send(true);
                }
            }
            Ok(())
        }
    }
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}

async fn coordinator(cfg: netpulse_coordinator::node::Config) -> anyhow::Result<()> {
    let running = netpulse_coordinator::node::start(cfg)
        .await
        .context("starting coordinator")?;
    println!("UI: http://{}/", running.http_addr);
    println!("QUIC: {}", running.quic_addr);
    println!("Coordinator id: {}", running.node_id);
    match &running.admin_key {
        Some(key) => println!("Admin API key: {key}"),
        None => println!("Admin API key: (created on first start and shown only then)"),
    }
    shutdown_signal().await;
    running.shutdown().await;
    Ok(())
}

async fn cluster(api: &str, key: &str, action: ClusterAction) -> anyhow::Result<()> {
    let client = reqwest::Client::new();
    let base = api.trim_end_matches('/');
    match action {
        ClusterAction::Status => {
            let resp = client
                .get(format!("{base}/v1/cluster"))
                .bearer_auth(key)
                .send()
                .await
                .context("contacting the API")?;
            let status = resp.status();
            let body: serde_json::Value = resp.json().await.context("reading the answer")?;
            if !status.is_success() {
                bail!("{status}: {}", body["error"]["message"]);
            }
            let d = &body["data"];
            println!("leader: {}  term: {}", d["leader"], d["term"]);
            println!("{:>4}  {:<9} {:<24} {:>6}", "id", "role", "address", "lag");
            for m in d["members"].as_array().into_iter().flatten() {
                let lag = m["lag"]
                    .as_u64()
                    .map(|l| l.to_string())
                    .unwrap_or_else(|| "?".into());
                println!(
                    "{:>4}  {:<9} {:<24} {:>6}",
                    m["id"],
                    m["role"].as_str().unwrap_or(""),
                    m["addr"].as_str().unwrap_or(""),
                    lag
                );
            }
        }
        ClusterAction::Remove { id } => {
            let resp = client
                .delete(format!("{base}/v1/cluster/members/{id}"))
                .bearer_auth(key)
                .send()
                .await
                .context("contacting the API")?;
            if !resp.status().is_success() {
                let status = resp.status();
                let body: serde_json::Value = resp.json().await.unwrap_or_default();
                bail!("{status}: {}", body["error"]["message"]);
            }
            println!("coordinator {id} removed");
        }
    }
    Ok(())
}

const DEMO_REGIONS: [&str; 3] = ["eu-west", "us-east", "ap-south"];

async fn up(
    data_dir: PathBuf,
    listen: SocketAddr,
    metrics_allow: Vec<netpulse_coordinator::metrics::Cidr>,
    retention: netpulse_engine::state::retention::Retention,
) -> anyhow::Result<()> {
    let coord_dir = data_dir.join("coordinator");
    let quic = SocketAddr::new(listen.ip(), 0);
    let mut cfg = netpulse_coordinator::node::Config::standalone(coord_dir, listen, quic);
    cfg.metrics_allow = metrics_allow;
    cfg.retention = retention;
    let running = netpulse_coordinator::node::start(cfg)
        .await
        .context("starting coordinator")?;
    let key = demo_admin_key(&data_dir, running.admin_key.as_deref())?;
    println!("UI: http://{}/", running.http_addr);
    println!("Admin API key: {key}");

    let targets = demo::start().await.context("starting demo targets")?;
    apply_demo_monitors(&running.ctx, &targets).await?;

    let token = running
        .create_join_token("netpulse up demo edge nodes", Duration::from_secs(600))
        .await?;
    let (stop, stop_rx) = watch::channel(false);
    let mut edges = Vec::new();
    for region in DEMO_REGIONS {
        let cfg = netpulse_edge::node::Config {
            data_dir: data_dir.join(format!("edge-{region}")),
            region: region.to_owned(),
            coordinators: vec![running.quic_addr.to_string()],
            join_token: Some(token.clone()),
            labels: BTreeMap::from([("demo".to_owned(), "true".to_owned())]),
            max_concurrent_checks: 256,
            canaries: netpulse_edge::canary::CanaryTargets::default(),
            canary_interval: netpulse_edge::canary::DEFAULT_INTERVAL,
            target_policy: TargetPolicy::default(),
            metrics_listen: None,
        };
        let rx = stop_rx.clone();
        edges.push(tokio::spawn(async move {
            if let Err(e) = netpulse_edge::node::run(cfg, rx).await {
                tracing::error!(error = %e, "demo edge node stopped");
            }
        }));
    }
    println!(
        "Edge nodes: {} (regions {})",
        DEMO_REGIONS.len(),
        DEMO_REGIONS.join(", ")
    );
    println!(
        "Press Ctrl-C to stop. Data is kept in {}",
        data_dir.display()
    );
    shutdown_signal().await;
    let _ = stop.send(true);
    for e in edges {
        let _ = tokio::time::timeout(Duration::from_secs(5), e).await;
    }
    running.shutdown().await;
    Ok(())
}

/// The demo keeps its admin key in the data directory so every `up` can print it. A real
/// coordinator never does this: it prints the key once and keeps only its hash.
fn demo_admin_key(data_dir: &Path, fresh: Option<&str>) -> anyhow::Result<String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let path = data_dir.join("demo-admin.key");
    if let Some(key) = fresh {
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&path)?;
        f.write_all(key.as_bytes())?;
        return Ok(key.to_owned());
    }
    match std::fs::read_to_string(&path) {
        Ok(k) => Ok(k.trim().to_owned()),
        Err(_) => Ok("(created on first start and shown only then)".to_owned()),
    }
}

#[derive(serde::Deserialize)]
struct DemoFile {
    monitors: Vec<yaml_serde::Value>,
}

/// The demo monitor file, embedded so `up` works from any directory.
const DEMO_CONFIG: &str = include_str!("../config/demo.yaml");

async fn apply_demo_monitors(
    ctx: &netpulse_coordinator::context::Context,
    t: &demo::DemoTargets,
) -> anyhow::Result<()> {
    let text = DEMO_CONFIG
        .replace("{demo_http}", &t.http.to_string())
        .replace("{demo_tcp}", &t.tcp.to_string());
    let file: DemoFile = yaml_serde::from_str(&text).context("config/demo.yaml")?;
    for (i, m) in file.monitors.into_iter().enumerate() {
        let input: netpulse_engine::input::MonitorInput = yaml_serde::from_value(m)
            .with_context(|| format!("config/demo.yaml monitor #{}", i + 1))?;
        if let Err(e) = netpulse_coordinator::apply::apply_monitor(ctx, input).await {
            bail!("config/demo.yaml monitor #{}: {e}", i + 1);
        }
    }
    Ok(())
}
