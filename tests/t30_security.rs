//! Refusals: bad join tokens, connections without (or with foreign) certificates, bad frames.

use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::frame::{self, FrameDecoder};
use netpulse_protocol::identity::{self, cert_to_pem, certs_from_pem, ClusterCa, NodeIdentity};
use netpulse_protocol::message::{CoordinatorMessage, EdgeMessage, Hello, WireErrorCode};
use netpulse_protocol::tls::{anonymous_client_config, node_client_config, ALPN_EDGE};
use quinn::crypto::rustls::QuicClientConfig;

use crate::support::{eventually, tempdir, Coordinator, Edge};

fn ensure_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

async fn connect(
    coord: &Coordinator,
    tls: rustls::ClientConfig,
) -> Result<quinn::Connection, String> {
    let mut endpoint =
        quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).map_err(|e| e.to_string())?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(
        QuicClientConfig::try_from(tls).map_err(|e| e.to_string())?,
    )));
    let connecting = endpoint
        .connect(coord.quic, identity::COORDINATOR_SERVER_NAME)
        .map_err(|e| e.to_string())?;
    connecting.await.map_err(|e| e.to_string())
}

fn cluster_ca(coord: &Coordinator) -> rustls::pki_types::CertificateDer<'static> {
    let pem = std::fs::read_to_string(coord.dir.join("ca.crt")).expect("ca.crt");
    certs_from_pem(&pem).expect("pem").remove(0)
}

/// Sends `bytes` on a fresh stream and collects whatever the coordinator answers.
async fn exchange(
    conn: &quinn::Connection,
    bytes: &[u8],
) -> Result<Vec<CoordinatorMessage>, String> {
    let (mut send, mut recv) = conn.open_bi().await.map_err(|e| e.to_string())?;
    send.write_all(bytes).await.map_err(|e| e.to_string())?;
    let _ = send.finish();
    let all = tokio::time::timeout(Duration::from_secs(10), recv.read_to_end(1 << 20))
        .await
        .map_err(|_| "no answer".to_owned())?
        .map_err(|e| e.to_string())?;
    let mut dec = FrameDecoder::new();
    dec.push(&all);
    let mut out = Vec::new();
    while let Some(m) = dec
        .next_frame::<CoordinatorMessage>()
        .map_err(|e| e.to_string())?
    {
        out.push(m);
    }
    Ok(out)
}

fn hello(node: &str) -> Vec<u8> {
    frame::encode(&EdgeMessage::Hello(Hello {
        node_id: node.into(),
        region: "eu-west".into(),
        labels: Default::default(),
        version: "test".into(),
    }))
    .expect("encode")
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_join_tokens_are_refused_and_enrol_nothing() {
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let good = api.join_token().await;

    // Right cluster, wrong secret.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[2] = "0".repeat(parts[2].len());
    let wrong_secret = parts.join(".");
    let mut e = Edge::start(
        &dir.path().join("e1"),
        "eu-west",
        coord.quic,
        Some(&wrong_secret),
    );
    let status = e
        .proc
        .wait_exit(Duration::from_secs(30))
        .expect("edge with a wrong token exits");
    assert!(!status.success());

    // A token pinned to another cluster's CA: the coordinator is not trusted, nothing is sent.
    let mut parts: Vec<String> = good.split('.').map(str::to_owned).collect();
    parts[3] = "ab".repeat(32);
    let foreign = parts.join(".");
    let mut e = Edge::start(
        &dir.path().join("e2"),
        "eu-west",
        coord.quic,
        Some(&foreign),
    );
    let status = e
        .proc
        .wait_exit(Duration::from_secs(30))
        .expect("edge with a foreign CA pin exits");
    assert!(!status.success());

    // A revoked token.
    let id = good.split('.').nth(1).expect("id").to_owned();
    let (s, _) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/join-tokens/{id}"),
            None,
        )
        .await;
    assert_eq!(s, 204);
    let mut e = Edge::start(&dir.path().join("e3"), "eu-west", coord.quic, Some(&good));
    let status = e
        .proc
        .wait_exit(Duration::from_secs(30))
        .expect("edge with a revoked token exits");
    assert!(!status.success());

    assert!(api.nodes().await.is_empty(), "no node was enrolled");
    // Not a token at all: refused locally, before any connection.
    let mut e = Edge::start(
        &dir.path().join("e4"),
        "eu-west",
        coord.quic,
        Some("hunter2"),
    );
    assert!(!e
        .proc
        .wait_exit(Duration::from_secs(30))
        .expect("exits")
        .success());
}

#[tokio::test(flavor = "multi_thread")]
async fn connections_without_a_node_certificate_get_nothing() {
    ensure_provider();
    let dir = tempdir();
    let coord = Coordinator::start(&dir.path().join("coord"), None);
    let api = coord.api();
    let token = api.join_token().await;
    let mut edge = Edge::start(
        &dir.path().join("edge"),
        "eu-west",
        coord.quic,
        Some(&token),
    );
    let real_node = edge.wait_running();
    api.create_monitor(serde_json::json!({"name": "m", "kind": "tcp", "target": "127.0.0.1:9", "regions": ["eu-west"]})).await;

    // No client certificate: a hello naming a real node is refused, no assignment follows.
    let conn = connect(
        &coord,
        anonymous_client_config(&cluster_ca(&coord), ALPN_EDGE).expect("tls"),
    )
    .await
    .expect("QUIC connects");
    let answer = exchange(&conn, &hello(&real_node)).await.expect("answer");
    assert!(
        matches!(answer.as_slice(), [CoordinatorMessage::Error(e)] if e.code == WireErrorCode::Unauthenticated),
        "{answer:?}"
    );

    // Garbage and an oversized length prefix on the enrolment path: refused with an error frame.
    let conn = connect(
        &coord,
        anonymous_client_config(&cluster_ca(&coord), ALPN_EDGE).expect("tls"),
    )
    .await
    .expect("connects");
    let answer = exchange(&conn, b"\x00\x00\x00\x05\x00\x01\xff\xff\xff")
        .await
        .expect("answer");
    assert!(
        matches!(answer.as_slice(), [CoordinatorMessage::Error(e)] if e.code == WireErrorCode::BadRequest),
        "{answer:?}"
    );
    let conn = connect(
        &coord,
        anonymous_client_config(&cluster_ca(&coord), ALPN_EDGE).expect("tls"),
    )
    .await
    .expect("connects");
    let answer = exchange(&conn, &[0xff, 0xff, 0xff, 0xff, 0, 1])
        .await
        .expect("answer");
    assert!(
        matches!(answer.as_slice(), [CoordinatorMessage::Error(e)] if e.code == WireErrorCode::BadRequest),
        "{answer:?}"
    );

    // A certificate from another CA naming the real node: the handshake or first read fails.
    let foreign = ClusterCa::generate().expect("ca");
    let pending = identity::generate_csr().expect("csr");
    let cert = foreign
        .sign_node_csr(&pending.csr_der, &real_node)
        .expect("sign");
    let id = NodeIdentity::from_pem(&cert_to_pem(&cert), &pending.key_pem).expect("identity");
    match connect(
        &coord,
        node_client_config(&id, &cluster_ca(&coord), ALPN_EDGE).expect("tls"),
    )
    .await
    {
        Err(_) => {}
        Ok(conn) => {
            let answer = exchange(&conn, &hello(&real_node)).await;
            assert!(
                answer.is_err() || answer.as_ref().is_ok_and(|a| a.is_empty()),
                "{answer:?}"
            );
        }
    }

    // The coordinator is alive and the real node holds its session (it may still be
    // establishing it: `wait_running` returns when the node starts, before it connects).
    eventually(
        "the real node is connected",
        Duration::from_secs(30),
        || async {
            let nodes = api.nodes().await;
            (nodes.len() == 1 && nodes[0]["connected"] == true).then_some(())
        },
    )
    .await;
}
