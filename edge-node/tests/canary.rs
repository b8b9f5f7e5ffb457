//! Canary checks against real sockets on loopback.
//!
//! - TCP canaries: listeners that accept, then are closed (connection refused), then come back.
//! - Coordinator canaries: a real quinn server with cluster certificates made by the protocol
//!   crate (what a coordinator presents), then stopped, then restarted; and a server of another
//!   cluster, which must not count as reachable.
//!
//! Rounds run every 200 ms, but nothing here asserts on timing: each step waits for the
//! published state with a generous deadline and fails with what it last saw.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use netpulse_edge::canary::{self, CanarySet, Health};
use netpulse_protocol::identity::{cert_to_pem, generate_csr, ClusterCa, NodeIdentity};
use netpulse_protocol::tls::{coordinator_server_config, node_client_config, ALPN_EDGE};
use netpulse_test_support::target::Target;
use quinn::crypto::rustls::QuicServerConfig;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio::time::Instant;

const INTERVAL: Duration = Duration::from_millis(200);
const TIMEOUT: Duration = Duration::from_millis(500);
/// How long any one expected state may take to appear. Far above the few rounds it needs.
const PATIENCE: Duration = Duration::from_secs(20);

/// Waits until `pred` holds for the published health; panics with `what` and the last value.
async fn wait_for(
    rx: &mut watch::Receiver<Health>,
    what: &str,
    pred: impl Fn(&Health) -> bool,
) -> Health {
    let deadline = Instant::now() + PATIENCE;
    loop {
        {
            let h = rx.borrow_and_update();
            if pred(&h) {
                return h.clone();
            }
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) => panic!("canary task ended while waiting for: {what}"),
            Err(_) => panic!(
                "not reached within {PATIENCE:?}: {what}; last health: {:?}",
                *rx.borrow()
            ),
        }
    }
}

#[tokio::test]
async fn tcp_canaries_impair_on_majority_failure_and_recover() {
    let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let mut listeners = Vec::new();
    for _ in 0..3 {
        listeners.push(Target::tcp_on(any).await);
    }
    let addrs: Vec<SocketAddr> = listeners.iter().map(|l| l.addr).collect();
    let names: Vec<String> = addrs.iter().map(|a| a.to_string()).collect();
    let set = CanarySet::tcp(&names).expect("valid targets");
    let (_stop, stop_rx) = watch::channel(false);
    let (mut health, task) = canary::spawn(set, INTERVAL, TIMEOUT, stop_rx);
    assert!(task.is_some(), "three canaries start a task");

    // (a) Everything reachable: healthy, nothing failing.
    let h = wait_for(&mut health, "two rounds with all canaries up", |h| {
        h.rounds >= 2
    })
    .await;
    assert!(!h.impaired, "{h:?}");
    assert!(h.failing.is_empty(), "{h:?}");

    // A minority failing never impairs, however many rounds it lasts.
    let first = listeners.remove(0);
    first.stop().await;
    let h = wait_for(&mut health, "the closed canary reported failing", |h| {
        h.failing.iter().any(|f| f.target == names[0])
    })
    .await;
    let until = h.rounds + 3;
    loop {
        let h = wait_for(&mut health, "three more rounds", |h| h.rounds > 0).await;
        assert!(
            !h.impaired,
            "one of three canaries failing impaired the node: {h:?}"
        );
        if h.rounds >= until {
            break;
        }
        health.changed().await.expect("canary task running");
    }

    // (b) All closed: connection refused everywhere, impaired, every target named.
    for l in listeners.drain(..) {
        l.stop().await;
    }
    let h = wait_for(&mut health, "impaired after the listeners closed", |h| {
        h.impaired
    })
    .await;
    let mut failing: Vec<&str> = h.failing.iter().map(|f| f.target.as_str()).collect();
    failing.sort_unstable();
    let mut expected: Vec<&str> = names.iter().map(String::as_str).collect();
    expected.sort_unstable();
    assert_eq!(failing, expected, "{h:?}");
    assert!(
        h.failing
            .iter()
            .all(|f| f.reason.to_lowercase().contains("refused")),
        "reasons should say connection refused: {h:?}"
    );
    assert_eq!(h.episodes, 1, "{h:?}");

    // (c) Back on the same ports: healthy again after a good round.
    for a in &addrs {
        listeners.push(Target::tcp_on(*a).await);
    }
    let h = wait_for(&mut health, "healthy after the listeners came back", |h| {
        !h.impaired && h.failing.is_empty()
    })
    .await;
    assert_eq!(h.episodes, 1, "{h:?}");
    for l in listeners {
        l.stop().await;
    }
}

/// Certificates for one cluster: a coordinator server identity and a node client identity.
struct Cluster {
    ca: ClusterCa,
    node: NodeIdentity,
}

impl Cluster {
    fn new() -> Self {
        let ca = ClusterCa::generate().expect("CA");
        let pending = generate_csr().expect("CSR");
        let cert = ca.sign_node_csr(&pending.csr_der, "node-1").expect("sign");
        let node = NodeIdentity::from_pem(&cert_to_pem(&cert), &pending.key_pem).expect("node");
        Self { ca, node }
    }

    fn client_tls(&self) -> rustls::ClientConfig {
        node_client_config(&self.node, self.ca.cert_der(), ALPN_EDGE).expect("client config")
    }
}

/// A QUIC server presenting `cluster`'s coordinator certificate, counting handshakes in which
/// the client proved a node certificate of that cluster.
struct Coordinator {
    endpoint: quinn::Endpoint,
    authenticated: Arc<AtomicUsize>,
    task: JoinHandle<()>,
}

impl Coordinator {
    async fn start(cluster: &Cluster, addr: SocketAddr) -> Self {
        let identity = cluster
            .ca
            .issue_coordinator(&[addr.ip()])
            .expect("coordinator certificate");
        let tls = coordinator_server_config(&identity, cluster.ca.cert_der(), &[ALPN_EDGE])
            .expect("server config");
        let crypto = QuicServerConfig::try_from(tls).expect("QUIC server config");
        let cfg = quinn::ServerConfig::with_crypto(Arc::new(crypto));
        let deadline = Instant::now() + PATIENCE;
        let endpoint = loop {
            match quinn::Endpoint::server(cfg.clone(), addr) {
                Ok(e) => break e,
                Err(e) if Instant::now() < deadline => {
                    eprintln!("rebinding UDP {addr}: {e}; retrying");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
                Err(e) => panic!("cannot bind UDP {addr}: {e}"),
            }
        };
        let authenticated = Arc::new(AtomicUsize::new(0));
        let (ep, count) = (endpoint.clone(), authenticated.clone());
        let task = tokio::spawn(async move {
            while let Some(incoming) = ep.accept().await {
                let count = count.clone();
                tokio::spawn(async move {
                    let Ok(conn) = incoming.await else { return };
                    if conn.peer_identity().is_some() {
                        count.fetch_add(1, Ordering::Relaxed);
                    }
                    conn.closed().await;
                });
            }
        });
        Self {
            endpoint,
            authenticated,
            task,
        }
    }

    fn addr(&self) -> SocketAddr {
        self.endpoint.local_addr().expect("server address")
    }

    /// Closes the UDP socket: later handshakes get no answer.
    async fn stop(self) {
        self.endpoint.close(quinn::VarInt::from_u32(0), b"stopped");
        self.task.abort();
        let _ = self.task.await;
        self.endpoint.wait_idle().await;
    }
}

#[tokio::test]
async fn coordinator_canaries_use_a_real_quic_handshake() {
    let cluster = Cluster::new();
    let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let server = Coordinator::start(&cluster, any).await;
    let addr = server.addr();
    let set = CanarySet::coordinators(&[addr.to_string()], cluster.client_tls(), TIMEOUT)
        .expect("canary set");
    let (_stop, stop_rx) = watch::channel(false);
    let (mut health, _task) = canary::spawn(set, INTERVAL, TIMEOUT, stop_rx);

    // (a) The coordinator answers: healthy, and it saw our node certificate.
    let h = wait_for(&mut health, "two rounds against a live coordinator", |h| {
        h.rounds >= 2
    })
    .await;
    assert!(!h.impaired && h.failing.is_empty(), "{h:?}");
    // The server finishes its side of the handshake a moment after the client does.
    let deadline = Instant::now() + PATIENCE;
    while server.authenticated.load(Ordering::Relaxed) < 2 {
        assert!(
            Instant::now() < deadline,
            "the server saw no handshake with the node certificate within {PATIENCE:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // (b) The coordinator is gone (no answer on its UDP port): impaired, target named.
    server.stop().await;
    let h = wait_for(&mut health, "impaired with the coordinator stopped", |h| {
        h.impaired
    })
    .await;
    assert_eq!(h.failing.len(), 1, "{h:?}");
    assert_eq!(h.failing[0].target, addr.to_string(), "{h:?}");

    // (c) It comes back on the same port: healthy again.
    let server = Coordinator::start(&cluster, addr).await;
    wait_for(&mut health, "healthy with the coordinator back", |h| {
        !h.impaired && h.failing.is_empty()
    })
    .await;
    server.stop().await;
}

#[tokio::test]
async fn a_server_of_another_cluster_does_not_count_as_reachable() {
    let ours = Cluster::new();
    let theirs = Cluster::new();
    let any: SocketAddr = "127.0.0.1:0".parse().expect("address");
    let server = Coordinator::start(&theirs, any).await;
    let set = CanarySet::coordinators(&[server.addr().to_string()], ours.client_tls(), TIMEOUT)
        .expect("canary set");
    let (_stop, stop_rx) = watch::channel(false);
    let (mut health, _task) = canary::spawn(set, INTERVAL, TIMEOUT, stop_rx);
    let h = wait_for(&mut health, "impaired against a foreign server", |h| {
        h.impaired
    })
    .await;
    assert!(
        h.failing[0].reason.contains("handshake"),
        "reason should name the failed handshake: {h:?}"
    );
    server.stop().await;
}
