//! An edge node written by hand from the protocol crate: it enrols through the real enrolment
//! exchange, holds a real mutually authenticated QUIC session, and sends whatever results a
//! test builds, including ones no real node would send. Tests use it to prove what the
//! coordinator does with hostile or odd input.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use netpulse_protocol::frame::{self, FrameDecoder};
use netpulse_protocol::identity::{self, cert_to_pem, NodeIdentity};
use netpulse_protocol::message::{CoordinatorMessage, EdgeMessage, Hello};
use netpulse_protocol::tls::node_client_config;
use quinn::crypto::rustls::QuicClientConfig;
use rustls::pki_types::CertificateDer;

/// An enrolled node identity.
pub struct WireNode {
    pub node_id: String,
    pub region: String,
    identity: NodeIdentity,
    ca: CertificateDer<'static>,
}

/// One open session.
pub struct WireSession {
    _endpoint: quinn::Endpoint,
    pub conn: quinn::Connection,
    send: quinn::SendStream,
    recv: quinn::RecvStream,
    dec: FrameDecoder,
    /// Everything received so far, in order.
    pub received: Vec<CoordinatorMessage>,
}

impl WireNode {
    /// Enrols with `token` at the coordinator's QUIC address.
    pub async fn enrol(quic: SocketAddr, token: &str, region: &str) -> WireNode {
        let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        let enrolment = netpulse_edge::session::enrol(
            &[quic.to_string()],
            token,
            region,
            Duration::from_secs(30),
        )
        .await
        .expect("enrol");
        let identity = NodeIdentity::from_pem(
            &cert_to_pem(&enrolment.enrolled.cert_der),
            &enrolment.key_pem,
        )
        .expect("identity");
        WireNode {
            node_id: enrolment.enrolled.node_id,
            region: region.to_owned(),
            identity,
            ca: CertificateDer::from(enrolment.enrolled.ca_der),
        }
    }

    /// Opens a session speaking `alpn`, sends hello and waits for the welcome.
    pub async fn session(&self, quic: SocketAddr, alpn: &[u8]) -> WireSession {
        let tls = node_client_config(&self.identity, &self.ca, alpn).expect("tls");
        let mut endpoint =
            quinn::Endpoint::client("127.0.0.1:0".parse().expect("addr")).expect("endpoint");
        endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(
            QuicClientConfig::try_from(tls).expect("quic tls"),
        )));
        let conn = endpoint
            .connect(quic, identity::COORDINATOR_SERVER_NAME)
            .expect("connect")
            .await
            .expect("handshake");
        let (send, recv) = conn.open_bi().await.expect("stream");
        let mut s = WireSession {
            _endpoint: endpoint,
            conn,
            send,
            recv,
            dec: FrameDecoder::new(),
            received: Vec::new(),
        };
        s.send(&EdgeMessage::Hello(Hello {
            node_id: self.node_id.clone(),
            region: self.region.clone(),
            labels: Default::default(),
            version: "wire-test".into(),
        }))
        .await;
        s.until("welcome", |m| {
            matches!(m, CoordinatorMessage::Welcome { .. })
        })
        .await;
        s
    }
}

impl WireSession {
    /// Sends one message as a frame.
    pub async fn send(&mut self, msg: &EdgeMessage) {
        let bytes = frame::encode(msg).expect("encode");
        self.send.write_all(&bytes).await.expect("write");
    }

    /// Reads until a message matching `want` arrives (within 30 s) and returns it. Panics if
    /// the coordinator refuses or closes the session first.
    pub async fn until(
        &mut self,
        what: &str,
        want: impl Fn(&CoordinatorMessage) -> bool,
    ) -> CoordinatorMessage {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            while let Some(m) = self
                .dec
                .next_frame::<CoordinatorMessage>()
                .expect("valid frame from the coordinator")
            {
                self.received.push(m.clone());
                if let CoordinatorMessage::Error(e) = &m {
                    panic!("coordinator refused while waiting for {what}: {e}");
                }
                if want(&m) {
                    return m;
                }
            }
            let chunk = tokio::time::timeout_at(deadline, self.recv.read_chunk(1 << 16, true))
                .await
                .unwrap_or_else(|_| panic!("no {what} within 30 s"))
                .unwrap_or_else(|e| panic!("session broke while waiting for {what}: {e}"));
            match chunk {
                Some(c) => self.dec.push(&c.bytes),
                None => panic!("coordinator closed the session while waiting for {what}"),
            }
        }
    }

    /// Waits for an ack covering `seq` and returns its `up_to_seq`.
    pub async fn ack(&mut self, seq: u64) -> u64 {
        match self
            .until(
                &format!("ack of {seq}"),
                |m| matches!(m, CoordinatorMessage::Ack { up_to_seq } if *up_to_seq >= seq),
            )
            .await
        {
            CoordinatorMessage::Ack { up_to_seq } => up_to_seq,
            _ => unreachable!("until returns what it matched"),
        }
    }
}
