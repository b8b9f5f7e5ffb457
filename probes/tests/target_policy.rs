//! The target policy against real sockets: probes aimed at a link-local address and at a denied
//! network, by IP, by a name that resolves there and by an HTTP redirect from an allowed
//! target, are refused with class `policy`, and the listeners there see no connection (each
//! counts what it accepts, and the count is 0 after the probe returned). Allowed targets still
//! work, and a policy that allows the link-local network exactly lets the same probe through
//! and the listener count it: the counters do count.
//!
//! Everything runs in a private network and mount namespace (see [`in_namespaces`]): loopback
//! plus `169.254.10.10/16` and `10.77.0.1/24` on `lo`, and a private `/etc/hosts` bind-mounted
//! over the real one (what `ip netns exec` does with `/etc/netns/<name>/hosts`), so names
//! resolve there through the system resolver, as on a node. Needs root.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use netpulse_probes::{Probe, ProbeContext, ProbeOutcome, TargetPolicy};
use netpulse_protocol::check::{
    DnsRecordType, DnsSpec, Endpoint, HttpSpec, IcmpSpec, ProbeSpec, SnmpSpec, SnmpVersion,
    TcpSpec, TlsSpec, TlsVersion,
};
use netpulse_protocol::result::{CheckStatus, ErrorClass};
use netpulse_test_support::process::require;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};

/// On `lo` inside the namespace: a link-local address (refused by default).
const LINK_LOCAL: &str = "169.254.10.10";
/// On `lo` inside the namespace: an address in the network the tests deny.
const DENIED: &str = "10.77.0.1";
/// The denied network, as `--deny-target` would take it.
const DENY_RULE: &str = "10.77.0.0/24";

/// The namespace's `/etc/hosts`.
const HOSTS: &str = "127.0.0.1 localhost allowed.test\n\
                     169.254.10.10 linklocal.test\n\
                     10.77.0.1 denied.test\n";

/// A TCP listener that counts the connections it accepts, answering each with `answer`.
struct Counting {
    addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
}

impl Counting {
    async fn tcp(ip: &str, answer: &'static [u8]) -> Self {
        let listener = TcpListener::bind((ip, 0)).await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = [0u8; 4096];
                    let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf))
                        .await;
                    let _ = stream.write_all(answer).await;
                });
            }
        });
        Self { addr, accepted }
    }

    /// A UDP socket counting the datagrams it receives (never answering).
    async fn udp(ip: &str) -> Self {
        let socket = UdpSocket::bind((ip, 0)).await.expect("bind udp");
        let addr = socket.local_addr().expect("addr");
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            let mut buf = [0u8; 2048];
            while socket.recv_from(&mut buf).await.is_ok() {
                count.fetch_add(1, Ordering::SeqCst);
            }
        });
        Self { addr, accepted }
    }

    /// What it counted, after a moment for a connection in flight to be accepted.
    async fn seen(&self) -> usize {
        tokio::time::sleep(Duration::from_millis(200)).await;
        self.accepted.load(Ordering::SeqCst)
    }
}

const HTTP_OK: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";

fn redirect_to(location: String) -> &'static [u8] {
    Box::leak(
        format!(
            "HTTP/1.1 302 Found\r\nlocation: {location}\r\ncontent-length: 0\r\n\
             connection: close\r\n\r\n"
        )
        .into_bytes()
        .into_boxed_slice(),
    )
}

fn ctx(policy: TargetPolicy) -> ProbeContext {
    ProbeContext::for_node("test", "n-policy").with_target_policy(policy)
}

fn denying() -> ProbeContext {
    ctx(TargetPolicy::parse::<[&str; 0], _>([], [DENY_RULE]).expect("rule"))
}

async fn run(spec: ProbeSpec, ctx: &ProbeContext) -> ProbeOutcome {
    let probe = Probe::build(&spec, ctx).expect("valid spec");
    probe.run(Duration::from_secs(3)).await
}

fn tcp(host: &str, port: u16) -> ProbeSpec {
    ProbeSpec::Tcp(TcpSpec {
        host: host.into(),
        port,
        ..Default::default()
    })
}

/// Down with class `policy`, naming `rule` and `addr`.
#[track_caller]
fn assert_refused(o: &ProbeOutcome, rule: &str, addr: &str) {
    assert_eq!(o.status, CheckStatus::Down, "{o:?}");
    assert_eq!(o.error_class(), Some(ErrorClass::Policy), "{o:?}");
    let message = &o.error.as_ref().expect("error").message;
    assert!(
        message.starts_with("target policy refuses ") && message.contains(rule),
        "{message}"
    );
    assert!(message.contains(addr), "{message}");
}

const LL_RULE: &str = "deny 169.254.0.0/16 (link-local, default)";
const DENIED_RULE: &str = "deny 10.77.0.0/24 (--deny-target)";

#[test]
fn tcp_kinds_never_connect_to_refused_addresses_by_ip_or_name() {
    in_namespaces(|| async {
        let ctx = denying();
        let ll = Counting::tcp(LINK_LOCAL, b"").await;
        let denied = Counting::tcp(DENIED, b"").await;
        for (host, target, rule) in [
            (LINK_LOCAL, &ll, LL_RULE),
            ("linklocal.test", &ll, LL_RULE),
            (DENIED, &denied, DENIED_RULE),
            ("denied.test", &denied, DENIED_RULE),
        ] {
            let port = target.addr.port();
            let addr = target.addr.to_string();
            let o = run(tcp(host, port), &ctx).await;
            assert_refused(&o, rule, &addr);
            let tls = ProbeSpec::Tls(TlsSpec {
                host: host.into(),
                port,
                server_name: None,
                warn_days: 14,
                critical_days: 3,
                min_version: TlsVersion::Tls12,
                ca_pem: None,
            });
            assert_refused(&run(tls, &ctx).await, rule, &addr);
            let http = ProbeSpec::Http(HttpSpec::get(format!("http://{host}:{port}/")));
            assert_refused(&run(http, &ctx).await, rule, &addr);
            let https = ProbeSpec::Http(HttpSpec::get(format!("https://{host}:{port}/")));
            assert_refused(&run(https, &ctx).await, rule, &addr);
            assert_eq!(
                target.seen().await,
                0,
                "{host}: a refused address was connected to"
            );
        }

        // An allowed target still works, by IP and by name.
        let allowed = Counting::tcp("127.0.0.1", HTTP_OK).await;
        let port = allowed.addr.port();
        for host in ["127.0.0.1", "allowed.test"] {
            let o = run(tcp(host, port), &ctx).await;
            assert_eq!(o.status, CheckStatus::Up, "{o:?}");
            let http = ProbeSpec::Http(HttpSpec::get(format!("http://{host}:{port}/")));
            let o = run(http, &ctx).await;
            assert_eq!(o.status, CheckStatus::Up, "{o:?}");
        }
        assert_eq!(allowed.seen().await, 4);

        // The counters count: allowing the link-local network exactly lets the same probe in.
        let open = ctx_allowing_link_local();
        let o = run(tcp(LINK_LOCAL, ll.addr.port()), &open).await;
        assert_eq!(o.status, CheckStatus::Up, "{o:?}");
        assert_eq!(ll.seen().await, 1);
    });
}

fn ctx_allowing_link_local() -> ProbeContext {
    ctx(TargetPolicy::parse(["169.254.0.0/16", "127.0.0.0/8"], [DENY_RULE]).expect("rules"))
}

#[test]
fn a_redirect_cannot_lead_to_a_refused_address() {
    in_namespaces(|| async {
        let ctx = denying();
        let ll = Counting::tcp(LINK_LOCAL, HTTP_OK).await;
        let denied = Counting::tcp(DENIED, HTTP_OK).await;
        for (location, target, rule) in [
            (
                format!("http://{}/latest/meta-data/", ll.addr),
                &ll,
                LL_RULE,
            ),
            (
                format!("http://linklocal.test:{}/", ll.addr.port()),
                &ll,
                LL_RULE,
            ),
            (format!("http://{}/", denied.addr), &denied, DENIED_RULE),
            (
                format!("http://denied.test:{}/", denied.addr.port()),
                &denied,
                DENIED_RULE,
            ),
        ] {
            let allowed = Counting::tcp("127.0.0.1", redirect_to(location.clone())).await;
            let mut spec = HttpSpec::get(format!("http://allowed.test:{}/", allowed.addr.port()));
            spec.follow_redirects = true;
            let o = run(ProbeSpec::Http(spec), &ctx).await;
            assert_refused(&o, rule, &target.addr.to_string());
            assert_eq!(allowed.seen().await, 1, "the allowed first hop was visited");
            assert_eq!(
                target.seen().await,
                0,
                "{location}: followed to a refused address"
            );
        }
    });
}

#[test]
fn udp_and_icmp_kinds_never_send_to_refused_addresses() {
    in_namespaces(|| async {
        let ctx = denying();
        let ll = Counting::udp(LINK_LOCAL).await;
        let denied = Counting::udp(DENIED).await;
        for (host, target, rule) in [
            (LINK_LOCAL, &ll, LL_RULE),
            ("linklocal.test", &ll, LL_RULE),
            (DENIED, &denied, DENIED_RULE),
            ("denied.test", &denied, DENIED_RULE),
        ] {
            let port = target.addr.port();
            let addr = target.addr.to_string();
            let dns = ProbeSpec::Dns(DnsSpec {
                name: "example.test".into(),
                record_type: DnsRecordType::A,
                nameserver: Some(Endpoint {
                    host: host.into(),
                    port,
                }),
                expect: Vec::new(),
                expect_rcode: 0,
            });
            assert_refused(&run(dns, &ctx).await, rule, &addr);
            if Probe::KINDS.contains(&"snmp") {
                let snmp = ProbeSpec::Snmp(SnmpSpec {
                    host: host.into(),
                    port,
                    version: SnmpVersion::V2c {
                        community: "public".into(),
                    },
                    oids: vec!["1.3.6.1.2.1.1.5.0".into()],
                    walk: Vec::new(),
                    thresholds: Vec::new(),
                    rates: Vec::new(),
                });
                assert_refused(&run(snmp, &ctx).await, rule, &addr);
            }
            // ICMP has no port: the message names the bare address.
            let icmp = ProbeSpec::Icmp(IcmpSpec {
                host: host.into(),
                count: 1,
                packet_size: 8,
            });
            let o = run(icmp, &ctx).await;
            assert_refused(&o, rule, &target.addr.ip().to_string());
            assert_eq!(
                target.seen().await,
                0,
                "{host}: a datagram reached a refused address"
            );
        }
        // The counter counts: the DNS probe allowed to ask there does send (and times out).
        let open = ctx_allowing_link_local();
        let dns = ProbeSpec::Dns(DnsSpec {
            name: "example.test".into(),
            record_type: DnsRecordType::A,
            nameserver: Some(Endpoint {
                host: LINK_LOCAL.into(),
                port: ll.addr.port(),
            }),
            expect: Vec::new(),
            expect_rcode: 0,
        });
        let probe = Probe::build(&dns, &open).expect("valid");
        let o = probe.run(Duration::from_millis(500)).await;
        assert_eq!(o.error_class(), Some(ErrorClass::Timeout), "{o:?}");
        assert!(ll.seen().await >= 1);
    });
}

/// Runs `body` on a runtime whose threads live in a private network and mount namespace set
/// up once for the test binary (see the module docs).
fn in_namespaces<F, Fut, T>(body: F) -> T
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    static RUNTIME: OnceLock<tokio::runtime::Handle> = OnceLock::new();
    let handle = RUNTIME.get_or_init(namespaced_runtime).clone();
    match futures::executor::block_on(handle.spawn(async move { body().await })) {
        Ok(v) => v,
        Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
        Err(e) => panic!("test task failed: {e}"),
    }
}

fn namespaced_runtime() -> tokio::runtime::Handle {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        panic!("the target policy test needs root (namespaces, mounts); run the tests as root");
    }
    let ip = require("ip", "iproute2");
    let hosts_dir = tempfile::tempdir().expect("tempdir");
    let hosts = hosts_dir.path().join("hosts");
    std::fs::write(&hosts, HOSTS).expect("write hosts");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::Builder::new()
        .name("policy-netns".into())
        .spawn(move || {
            // SAFETY: unshare affects only this thread, which owns nothing shared yet; the
            // runtime's threads, started below, inherit its namespaces.
            let rc = unsafe { libc::unshare(libc::CLONE_NEWNET | libc::CLONE_NEWNS) };
            assert_eq!(rc, 0, "unshare: {}", std::io::Error::last_os_error());
            mount_private_hosts(&hosts);
            for args in [
                &["link", "set", "lo", "up"][..],
                &["addr", "add", &format!("{LINK_LOCAL}/16"), "dev", "lo"][..],
                &["addr", "add", &format!("{DENIED}/24"), "dev", "lo"][..],
            ] {
                let ok = std::process::Command::new(&ip)
                    .args(args)
                    .status()
                    .expect("ip");
                assert!(ok.success(), "ip {args:?} failed");
            }
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .expect("runtime");
            tx.send(rt.handle().clone()).expect("test thread waits");
            let _keep = hosts_dir;
            rt.block_on(std::future::pending::<()>());
        })
        .expect("spawn the namespace thread");
    rx.recv().expect("namespace runtime")
}

/// Makes this thread's mount namespace private (nothing propagates back to the host) and
/// bind-mounts `hosts` over `/etc/hosts` in it.
fn mount_private_hosts(hosts: &std::path::Path) {
    use std::ffi::CString;
    let root = CString::new("/").expect("cstr");
    let none = CString::new("none").expect("cstr");
    // SAFETY: valid NUL-terminated strings; affects only this thread's new mount namespace.
    let rc = unsafe {
        libc::mount(
            none.as_ptr(),
            root.as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_PRIVATE,
            std::ptr::null(),
        )
    };
    assert_eq!(rc, 0, "make / private: {}", std::io::Error::last_os_error());
    let source = CString::new(hosts.as_os_str().as_encoded_bytes()).expect("cstr");
    let target = CString::new("/etc/hosts").expect("cstr");
    // SAFETY: as above.
    let rc = unsafe {
        libc::mount(
            source.as_ptr(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_BIND,
            std::ptr::null(),
        )
    };
    assert_eq!(
        rc,
        0,
        "bind-mount /etc/hosts: {}",
        std::io::Error::last_os_error()
    );
}
