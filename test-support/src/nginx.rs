//! nginx (Debian `nginx`) in the foreground, single process, serving a test site from a
//! temporary directory on free ports of 127.0.0.1, ::1 and 127.0.0.2: plain HTTP, HTTPS with a
//! certificate for `localhost` and 127.0.0.1 issued by a CA made here with rcgen, redirects,
//! error pages, chunked, slow and large bodies.
//!
//! Used by the HTTP probe tests (`probes/tests/probe_http_nginx.rs`), which know the site's
//! documents through the constants below.

use std::io::Read;
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::ports::free_port_on;
use crate::process::{require, KillOnDrop};

/// Every address nginx listens on.
const LISTEN_IPS: [&str; 3] = ["127.0.0.1", "127.0.0.2", "::1"];

/// A TCP port free on every address nginx listens on. nginx binds later, so a start that loses
/// the race is retried with new ports.
fn free_port() -> u16 {
    free_port_on(&LISTEN_IPS, &[])
}

/// The body of `/index.html`.
pub const INDEX_HTML: &str =
    "<!doctype html>\n<html><head><title>NetPulse nginx test</title></head>\
                          <body><h1>Hello from nginx</h1><p>build 4711 all systems nominal</p>\
                          </body></html>\n";

/// The body of `/status.json`.
pub const STATUS_JSON: &str = r#"{"status":"ok","checks":{"db":"up","n":3}}"#;

/// Size of `/big.bin`: three times what the probe reads.
pub const BIG_LEN: usize = 3 << 20;

/// The marker `/big.bin` starts with, inside the part the probe reads.
pub const BIG_HEAD: &str = "BEGIN-OF-BIG-FILE";

/// The marker `/big.bin` ends with, beyond the part the probe reads.
pub const BIG_TAIL: &str = "END-OF-BIG-FILE";

/// A test CA and the one server certificate nginx presents.
struct Pki {
    ca_pem: String,
    cert_pem: String,
    key_pem: String,
}

/// The server certificate's lifetime, so `cert_days_left` can be checked.
pub const CERT_DAYS: i64 = 90;

impl Pki {
    /// A CA, and a leaf it signs for `localhost` and 127.0.0.1 (not 127.0.0.2, which the
    /// wrong-name test connects to), valid from yesterday for [`CERT_DAYS`] days.
    fn new() -> Pki {
        let now = time::OffsetDateTime::now_utc();
        let ca_key = rcgen::KeyPair::generate().expect("generate CA key");
        let mut ca = rcgen::CertificateParams::default();
        ca.distinguished_name
            .push(rcgen::DnType::CommonName, "NetPulse nginx test CA");
        ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
        ca.key_usages = vec![
            rcgen::KeyUsagePurpose::KeyCertSign,
            rcgen::KeyUsagePurpose::CrlSign,
            rcgen::KeyUsagePurpose::DigitalSignature,
        ];
        ca.not_before = now - time::Duration::days(30);
        ca.not_after = now + time::Duration::days(3650);
        let ca_cert = ca.self_signed(&ca_key).expect("self-sign test CA");
        let issuer = rcgen::Issuer::new(ca, ca_key);

        let key = rcgen::KeyPair::generate().expect("generate server key");
        let mut leaf =
            rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("server certificate names");
        leaf.distinguished_name
            .push(rcgen::DnType::CommonName, "localhost");
        leaf.not_before = now - time::Duration::days(1);
        leaf.not_after = now + time::Duration::days(CERT_DAYS);
        let cert = leaf
            .signed_by(&key, &issuer)
            .expect("sign server certificate");
        Pki {
            ca_pem: ca_cert.pem(),
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// nginx in the foreground, single process, serving the test site from a temporary directory;
/// killed and reaped on drop.
pub struct Nginx {
    child: KillOnDrop,
    /// Plain HTTP on 127.0.0.1 and ::1.
    pub http: u16,
    /// HTTPS on 127.0.0.1, ::1 and 127.0.0.2.
    pub https: u16,
    /// PEM of the CA that issued the HTTPS certificate.
    pub ca_pem: String,
    /// Its prefix: configuration, documents, logs (`access.log`, `error.log`).
    pub dir: tempfile::TempDir,
}

impl Nginx {
    /// Starts nginx and waits until every listener accepts. Retries with new ports when a port
    /// was taken in between; any other failure panics with nginx's error log.
    pub fn start() -> Nginx {
        let nginx = require("nginx", "nginx");
        let pki = Pki::new();
        let mut last_log = String::new();
        for _attempt in 0..5 {
            let dir = tempfile::tempdir().expect("create nginx tempdir");
            let http = free_port();
            let https = std::iter::repeat_with(free_port)
                .find(|&p| p != http)
                .expect("a second free port");
            write_site(dir.path(), &pki, http, https);
            let stderr = std::fs::File::create(dir.path().join("stderr.log"))
                .expect("create nginx stderr.log");
            let child = KillOnDrop::spawn_group(
                Command::new(&nginx)
                    .arg("-p")
                    .arg(dir.path())
                    .arg("-c")
                    .arg(dir.path().join("nginx.conf"))
                    // The compiled-in error log is used until the configuration is read.
                    .arg("-e")
                    .arg(dir.path().join("error.log"))
                    .stdin(Stdio::null())
                    .stdout(stderr.try_clone().expect("clone nginx stderr.log"))
                    .stderr(stderr),
            )
            .expect("spawn nginx");
            let mut server = Nginx {
                child,
                http,
                https,
                ca_pem: pki.ca_pem.clone(),
                dir,
            };
            if server.wait_ready() {
                return server;
            }
            last_log = server.logs();
            drop(server);
            if !last_log.contains("Address already in use") {
                break;
            }
        }
        panic!("nginx did not start; its log:\n{last_log}");
    }

    /// Polls every listener with a plain TCP connect (not the probe under test).
    fn wait_ready(&mut self) -> bool {
        let addrs: [SocketAddr; 5] = [
            ([127, 0, 0, 1], self.http).into(),
            (std::net::Ipv6Addr::LOCALHOST, self.http).into(),
            ([127, 0, 0, 1], self.https).into(),
            ([127, 0, 0, 2], self.https).into(),
            (std::net::Ipv6Addr::LOCALHOST, self.https).into(),
        ];
        let deadline = Instant::now() + Duration::from_secs(10);
        let mut pending: Vec<SocketAddr> = addrs.to_vec();
        while Instant::now() < deadline {
            if self.child.exited().is_some() {
                return false;
            }
            pending.retain(|a| TcpStream::connect_timeout(a, Duration::from_millis(200)).is_err());
            if pending.is_empty() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// nginx's error log and whatever it wrote to stdout/stderr.
    pub fn logs(&self) -> String {
        let mut out = String::new();
        for name in ["error.log", "stderr.log"] {
            let mut text = String::new();
            if let Ok(mut f) = std::fs::File::open(self.dir.path().join(name)) {
                let _ = f.read_to_string(&mut text);
            }
            out.push_str(&format!("--- {name}\n{text}"));
        }
        out
    }

    /// A plain HTTP URL of `path` on 127.0.0.1.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.http)
    }

    /// An HTTPS URL of `path` on `host`.
    pub fn https_url(&self, host: &str, path: &str) -> String {
        format!("https://{host}:{}{path}", self.https)
    }
}

/// Writes the configuration, the documents and the TLS files under `dir`.
fn write_site(dir: &Path, pki: &Pki, http: u16, https: u16) {
    let www = dir.join("www");
    std::fs::create_dir(&www).expect("create www");
    // nginx makes its temp directories but not their parent.
    std::fs::create_dir(dir.join("tmp")).expect("create tmp");
    std::fs::write(www.join("index.html"), INDEX_HTML).expect("write index.html");
    std::fs::write(www.join("status.json"), STATUS_JSON).expect("write status.json");
    let mut big = Vec::with_capacity(BIG_LEN);
    big.extend_from_slice(BIG_HEAD.as_bytes());
    while big.len() < BIG_LEN - BIG_TAIL.len() {
        big.push(b'a' + (big.len() % 26) as u8);
    }
    big.extend_from_slice(BIG_TAIL.as_bytes());
    std::fs::write(www.join("big.bin"), &big).expect("write big.bin");
    std::fs::write(dir.join("cert.pem"), &pki.cert_pem).expect("write cert.pem");
    std::fs::write(dir.join("key.pem"), &pki.key_pem).expect("write key.pem");

    let d = dir.display();
    // No `user` directive: with `master_process off` nginx never switches user, so it reads
    // the tempdir (mode 0700) as whoever runs the tests.
    let conf = format!(
        r#"daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 128; }}
http {{
    access_log {d}/access.log;
    client_body_temp_path {d}/tmp/body;
    proxy_temp_path {d}/tmp/proxy;
    fastcgi_temp_path {d}/tmp/fastcgi;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    types {{
        text/html html;
        application/json json;
        application/octet-stream bin;
    }}
    default_type text/plain;

    server {{
        listen 127.0.0.1:{http};
        listen [::1]:{http};
        server_name localhost;
        root {d}/www;

        location = /moved {{ return 301 /index.html; }}
        location = /found {{ return 302 http://127.0.0.1:{http}/index.html; }}
        location = /loop {{ return 301 /loop; }}
        location = /temporary {{ return 307 /index.html; }}
        location = /to-echo {{ return 302 /echo/probe; }}
        location = /secure {{ return 301 https://localhost:{https}/index.html; }}
        # The sub filter changes the length, so nginx sends these chunked.
        location /chunked/ {{
            alias {d}/www/;
            sub_filter "Hello from nginx" "Hello from chunked nginx";
            sub_filter_once off;
            sub_filter_types *;
        }}
        location = /empty {{ return 204; }}
        # No keep-alive: "Connection: close", and nginx closes right after the response.
        location /close/ {{
            alias {d}/www/;
            keepalive_timeout 0;
        }}
        # 444: nginx closes the connection without any response.
        location = /drop {{ return 444; }}
        location = /unavailable {{ return 503; }}
        location = /echo/probe {{ return 200 "x-probe=$http_x_probe"; }}
        location = /echo/agent {{ return 200 "user-agent=$http_user_agent"; }}
        location = /echo/host {{ return 200 "host=$http_host"; }}
        # 1 KiB/s: any body of size takes far longer than a check's timeout.
        location /slow/ {{
            alias {d}/www/;
            limit_rate 1k;
        }}
    }}

    server {{
        listen 127.0.0.1:{https} ssl;
        listen 127.0.0.2:{https} ssl;
        listen [::1]:{https} ssl;
        server_name localhost;
        root {d}/www;
        ssl_certificate {d}/cert.pem;
        ssl_certificate_key {d}/key.pem;
        ssl_protocols TLSv1.2 TLSv1.3;
    }}
}}
"#
    );
    std::fs::write(dir.join("nginx.conf"), conf).expect("write nginx.conf");
}
