//! `/metrics` seen by the real Prometheus tools: `promtool check metrics` accepts the
//! coordinator's and an edge node's body, and a real Prometheus scraping both every second
//! (the coordinator with an API key) answers `probe_success` per monitor and region, Raft
//! metrics and edge metrics, HTTP requests per route template and an ingest commit latency
//! quantile. The same Prometheus loads `deploy/prometheus/netpulse-rules.yml`
//! and evaluates every rule without error, and runs every query of the Grafana dashboards in
//! `deploy/grafana/`, whose metric names must all be ones the two scrapes expose. Access: a
//! key, or a peer in `--metrics-allow`. `promtool check rules` and `promtool test rules` run on
//! the shipped rules.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use crate::support::target::Target;
use crate::support::{eventually, tempdir, Coordinator, Edge, Proc};

/// `GET /metrics` from `local` (source address), with an optional bearer key and `Accept`.
async fn scrape(
    http: SocketAddr,
    local: &str,
    key: Option<&str>,
    accept: Option<&str>,
) -> (u16, String, String) {
    let client = reqwest::Client::builder()
        .local_address(Some(local.parse().expect("local address")))
        .build()
        .expect("client");
    let mut req = client.get(format!("http://{http}/metrics"));
    if let Some(k) = key {
        req = req.bearer_auth(k);
    }
    if let Some(a) = accept {
        req = req.header("accept", a);
    }
    let resp = req.send().await.expect("scrape");
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, ct, resp.text().await.unwrap_or_default())
}

/// Runs `promtool check metrics` on `body`; panics with its output unless it passes cleanly.
fn promtool_check(body: &str) -> String {
    use std::io::Write as _;
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian prometheus; scripts/test-peers.sh installs it)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(body.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("promtool");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && text.trim().is_empty(),
        "promtool check metrics: {text}"
    );
    text
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

#[tokio::test(flavor = "multi_thread")]
async fn prometheus_scrapes_probe_results_and_raft_health() {
    let dir = tempdir();
    // 127.0.0.2 may scrape without a key; 127.0.0.1 (every other client here) may not.
    let coord = Coordinator::start_with(
        &dir.path().join("coord"),
        "127.0.0.1",
        None,
        vec!["--metrics-allow".into(), "127.0.0.2/32".into()],
    );
    let api = coord.api();
    let token = api.join_token().await;
    let metrics_listen = ["--metrics-listen", "127.0.0.1:0"];
    let mut eu = Edge::start_with(
        &dir.path().join("eu"),
        "eu-west",
        &[coord.quic],
        Some(&token),
        None,
        &metrics_listen,
    );
    let mut us = Edge::start_with(
        &dir.path().join("us"),
        "us-east",
        &[coord.quic],
        Some(&token),
        None,
        &metrics_listen,
    );
    eu.wait_running();
    us.wait_running();
    let edge_metrics = [eu.metrics_addr(), us.metrics_addr()];

    let http = Target::http("hello").await;
    let tcp = Target::tcp().await;
    let regions = ["eu-west", "us-east"];
    let web = api
        .create_monitor(json!({"name": "web \"shop\"", "kind": "http",
            "target": format!("http://{}/health?token=qs-secret", http.addr),
            "headers": {"authorization": "Bearer header-secret"},
            "interval_s": 1, "timeout_s": 1, "regions": regions}))
        .await;
    let port = api
        .create_monitor(
            json!({"name": "port", "kind": "tcp", "target": tcp.addr.to_string(),
            "interval_s": 1, "timeout_s": 1, "regions": regions}),
        )
        .await;

    // Access: refused without a key or with a wrong one, served with a key or from an
    // allowed address.
    let (s, _, _) = scrape(coord.http, "127.0.0.1", None, None).await;
    assert_eq!(s, 401);
    let (s, _, _) = scrape(coord.http, "127.0.0.1", Some("npk_wrong"), None).await;
    assert_eq!(s, 401);
    let (s, _, _) = scrape(coord.http, "127.0.0.2", None, None).await;
    assert_eq!(s, 200, "an allowed peer needs no key");

    // One request on a route with a path parameter, so its template is in the scrape.
    api.monitor(&web).await;

    // Both monitors measured in both regions.
    let body = eventually(
        "every region's result in /metrics",
        Duration::from_secs(30),
        || async {
            let (s, ct, body) = scrape(coord.http, "127.0.0.1", Some(api.key()), None).await;
            assert_eq!(s, 200, "{body}");
            assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
            let all = [&web, &port].iter().all(|id| {
                regions.iter().all(|r| {
                    body.lines().any(|l| {
                        l.starts_with("probe_success{")
                            && l.contains(&format!("monitor_id=\"{id}\""))
                            && l.contains(&format!("region=\"{r}\""))
                            && l.ends_with(" 1")
                    })
                })
            });
            let status = body
                .lines()
                .any(|l| l.starts_with("probe_http_status_code{") && l.ends_with(" 200"));
            (all && status).then_some(body)
        },
    )
    .await;
    for secret in ["qs-secret", "header-secret", "token="] {
        assert!(!body.contains(secret), "{secret} in /metrics");
    }
    // The runtime half (issue 16): HTTP requests by route template (never the raw path),
    // ingest batches and their commit latency, delivery counters from 0, the process.
    for want in [
        "netpulse_http_request_duration_seconds_count{route=\"/v1/monitors/{id}\",method=\"GET\",status=\"2xx\"}",
        "netpulse_http_request_duration_seconds_count{route=\"/v1/monitors\",method=\"POST\",status=\"2xx\"}",
        "netpulse_ingest_commit_seconds_bucket{le=\"+Inf\"}",
        "netpulse_notification_deliveries_total{kind=\"webhook\",outcome=\"failed\"} 0",
        "netpulse_results_rejected_total 0",
        "process_resident_memory_bytes ",
        "process_cpu_seconds_total ",
    ] {
        assert!(body.contains(want), "{want} missing from\n{body}");
    }
    assert!(
        !body.contains(&format!("route=\"/v1/monitors/{web}")),
        "a raw path as a route label"
    );
    assert!(
        sample(&body, "netpulse_ingest_batches_total").is_some_and(|n| n > 0.0),
        "result batches counted"
    );
    assert!(
        sample(&body, "netpulse_ingest_commit_seconds_count").is_some_and(|n| n > 0.0),
        "commit latency observed"
    );
    let out = promtool_check(&body);
    println!("promtool check metrics (text 0.0.4): ok {out}");

    // Prometheus asks for gzip: the body comes compressed, and gzip(1) restores a valid
    // exposition with the same results in it.
    let resp = reqwest::Client::new()
        .get(format!("http://{}/metrics", coord.http))
        .bearer_auth(api.key())
        .header("accept-encoding", "gzip")
        .send()
        .await
        .expect("gzip scrape");
    assert_eq!(
        resp.headers()
            .get("content-encoding")
            .and_then(|v| v.to_str().ok()),
        Some("gzip")
    );
    let compressed = resp.bytes().await.expect("gzip body");
    let plain = {
        use std::io::Write as _;
        let mut gz = Command::new("gzip")
            .arg("-dc")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("gzip");
        gz.stdin
            .take()
            .expect("stdin")
            .write_all(&compressed)
            .expect("write to gzip");
        let out = gz.wait_with_output().expect("gzip -dc");
        assert!(out.status.success(), "gzip -dc failed");
        String::from_utf8(out.stdout).expect("utf-8 exposition")
    };
    assert!(compressed.len() < plain.len());
    assert!(
        plain.contains(&format!("probe_success{{monitor_id=\"{web}\"")),
        "{plain}"
    );
    promtool_check(&plain);
    let (s, ct, om) = scrape(
        coord.http,
        "127.0.0.1",
        Some(api.key()),
        Some("application/openmetrics-text;version=1.0.0,text/plain;q=0.5"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(om.ends_with("# EOF\n"));

    // The edge node's own /metrics (no key): its session, checks and acknowledgements.
    let edge_body = eventually(
        "the edge node's checks and acknowledgements in its /metrics",
        Duration::from_secs(30),
        || async {
            let (s, ct, body) = scrape(edge_metrics[0], "127.0.0.1", None, None).await;
            assert_eq!(s, 200, "{body}");
            assert!(ct.starts_with("text/plain; version=0.0.4"), "{ct}");
            let acked = sample(&body, "netpulse_edge_results_acknowledged_total").unwrap_or(0.0);
            let ok = body.contains("netpulse_edge_session_connected 1\n")
                && body.contains("netpulse_edge_checks_total{kind=\"http\",status=\"up\"}")
                && body.contains("netpulse_edge_checks_total{kind=\"tcp\",status=\"up\"}")
                && body.contains(
                    "netpulse_edge_probe_duration_seconds_bucket{kind=\"http\",le=\"+Inf\"}",
                )
                && body.contains("netpulse_edge_schedule_lateness_seconds_count")
                && body.contains("process_resident_memory_bytes")
                && acked > 0.0;
            ok.then_some(body)
        },
    )
    .await;
    assert!(
        edge_body.contains("region=\"eu-west\""),
        "netpulse_edge_info names the region:\n{edge_body}"
    );
    for secret in ["qs-secret", "header-secret", "token=", "/health"] {
        assert!(
            !edge_body.contains(secret),
            "{secret} in the edge's /metrics"
        );
    }
    promtool_check(&edge_body);
    println!("promtool check metrics (edge node): ok");
    let (s, ct, edge_om) = scrape(
        edge_metrics[0],
        "127.0.0.1",
        None,
        Some("application/openmetrics-text;version=1.0.0"),
    )
    .await;
    assert_eq!(s, 200);
    assert!(ct.starts_with("application/openmetrics-text"), "{ct}");
    assert!(edge_om.ends_with("# EOF\n"));
    let exposed: BTreeSet<String> = exposed_names(&body)
        .into_iter()
        .chain(exposed_names(&edge_body))
        .collect();

    // A real Prometheus scraping every second (the coordinator with the API key), with the
    // shipped alert rules loaded.
    let prom_dir = dir.path().join("prometheus");
    std::fs::create_dir_all(&prom_dir).expect("mkdir");
    let config = prom_dir.join("prometheus.yml");
    std::fs::write(
        &config,
        format!(
            "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files:\n  - {rules}\nscrape_configs:\n  - job_name: netpulse\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    authorization:\n      credentials: {key}\n    static_configs:\n      - targets: ['{addr}']\n  - job_name: netpulse-edge\n    scrape_interval: 1s\n    scrape_timeout: 1s\n    static_configs:\n      - targets: ['{eu}', '{us}']\n",
            rules = deploy().join("prometheus/netpulse-rules.yml").display(),
            key = api.key(),
            addr = coord.http,
            eu = edge_metrics[0],
            us = edge_metrics[1],
        ),
    )
    .expect("write config");
    let prom_port = free_port();
    let _prometheus = Proc::spawn_cmd(
        "prometheus",
        Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                prom_dir.join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{prom_port}"))
            .arg("--log.level=warn"),
    );
    let client = reqwest::Client::new();
    let query = |q: &'static str| {
        let client = client.clone();
        async move {
            let resp = client
                .get(format!(
                    "http://127.0.0.1:{prom_port}/api/v1/query?query={q}"
                ))
                .send()
                .await
                .ok()?;
            let v: Value = resp.json().await.ok()?;
            (v["status"] == "success").then(|| v["data"]["result"].as_array().cloned())?
        }
    };
    let success = eventually(
        "Prometheus answers probe_success per monitor and region",
        Duration::from_secs(60),
        || async {
            let rows = query("probe_success").await?;
            let up = |id: &str, r: &str| {
                rows.iter().any(|row| {
                    row["metric"]["monitor_id"] == id
                        && row["metric"]["region"] == r
                        && row["value"][1] == "1"
                })
            };
            [&web, &port]
                .iter()
                .all(|id| regions.iter().all(|r| up(id, r)))
                .then_some(rows)
        },
    )
    .await;
    assert_eq!(success.len(), 4, "{success:?}");
    println!("Prometheus probe_success: {}", Value::Array(success));
    let member = coord.id.to_string();
    let leader = eventually(
        "Prometheus answers a Raft metric",
        Duration::from_secs(30),
        || async {
            let rows = query("netpulse_raft_is_leader").await?;
            rows.iter()
                .any(|row| {
                    row["value"][1] == "1"
                        && row["metric"]["member"].as_str() == Some(member.as_str())
                })
                .then_some(rows)
        },
    )
    .await;
    println!(
        "Prometheus netpulse_raft_is_leader: {}",
        Value::Array(leader)
    );
    let term = query("netpulse_raft_term").await.unwrap_or_default();
    assert!(!term.is_empty(), "netpulse_raft_term answered");

    // The runtime half through PromQL: requests on a route template, and a commit latency
    // quantile from the histogram (a number, whatever it is: no timing is asserted).
    let prom = format!("http://127.0.0.1:{prom_port}");
    let requests = eventually(
        "Prometheus answers HTTP requests per route template",
        Duration::from_secs(30),
        || async {
            let rows = promql(
                &client,
                &prom,
                "sum by (route, method) (netpulse_http_request_duration_seconds_count{route=\"/v1/monitors/{id}\"})",
            )
            .await
            .ok()?;
            rows.iter()
                .any(|r| r["metric"]["method"] == "GET" && r["value"][1] != "0")
                .then_some(rows)
        },
    )
    .await;
    println!(
        "Prometheus requests on /v1/monitors/{{id}}: {}",
        Value::Array(requests)
    );
    let p99 = eventually(
        "Prometheus answers an ingest commit latency quantile",
        Duration::from_secs(60),
        || async {
            let rows = promql(
                &client,
                &prom,
                "histogram_quantile(0.99, sum by (le) (rate(netpulse_ingest_commit_seconds_bucket[30s])))",
            )
            .await
            .ok()?;
            let v: f64 = rows.first()?["value"][1].as_str()?.parse().ok()?;
            v.is_finite().then_some(v)
        },
    )
    .await;
    println!("Prometheus p99 ingest commit latency: {p99} s");

    // Edge metrics, joined with the node's region as the rules and dashboards do.
    let connected = eventually(
        "Prometheus answers edge sessions per region",
        Duration::from_secs(30),
        || async {
            let rows = promql(&client, &prom, "sum by (region) (netpulse_edge_session_connected * on (job, instance) group_left (region) netpulse_edge_info)").await.ok()?;
            let up = |r: &str| {
                rows.iter()
                    .any(|row| row["metric"]["region"] == r && row["value"][1] == "1")
            };
            regions.iter().all(|r| up(r)).then_some(rows)
        },
    )
    .await;
    println!(
        "Prometheus edge sessions by region: {}",
        Value::Array(connected)
    );
    let checks = promql(
        &client,
        &prom,
        "netpulse_edge_checks_total{job=\"netpulse-edge\"}",
    )
    .await
    .unwrap_or_default();
    assert!(!checks.is_empty(), "netpulse_edge_checks_total answered");

    // Every shipped rule loaded and evaluated without error against these real series.
    let rules = eventually(
        "every alert rule evaluated by Prometheus",
        Duration::from_secs(30),
        || async {
            let v: Value = client
                .get(format!("{prom}/api/v1/rules"))
                .send()
                .await
                .ok()?
                .json()
                .await
                .ok()?;
            let rules: Vec<Value> = v["data"]["groups"]
                .as_array()?
                .iter()
                .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
                .collect();
            for r in &rules {
                assert_ne!(r["health"], "err", "rule failed in Prometheus: {r}");
            }
            (!rules.is_empty() && rules.iter().all(|r| r["health"] == "ok")).then_some(rules)
        },
    )
    .await;
    println!("Prometheus evaluated {} NetPulse alert rules", rules.len());
    let rule_names = rule_exprs()
        .iter()
        .flat_map(|e| metric_names_in(e))
        .collect::<BTreeSet<_>>();
    let unknown: Vec<_> = rule_names.difference(&exposed).collect();
    assert!(
        unknown.is_empty(),
        "alert rules use metrics nobody exposes: {unknown:?}"
    );

    // Dashboards: every metric name a panel or variable uses is exposed, and every query is
    // one the real Prometheus accepts.
    let mut queries = 0;
    for (file, exprs) in dashboard_exprs() {
        for expr in exprs {
            let names = metric_names_in(&expr);
            assert!(!names.is_empty(), "{file}: no NetPulse metric in {expr}");
            for n in &names {
                assert!(
                    exposed.contains(n),
                    "{file}: {n} is exposed by neither the coordinator nor the edge node ({expr})"
                );
            }
            if let Some(q) = runnable(&expr) {
                if let Err(e) = promql(&client, &prom, &q).await {
                    panic!("{file}: Prometheus refuses {q}: {e}");
                }
                queries += 1;
            }
        }
    }
    println!(
        "dashboards: {queries} queries run, metric names all among {} exposed",
        exposed.len()
    );

    http.stop().await;
    tcp.stop().await;
}

/// The first sample of `name` without labels in an exposition body.
fn sample(body: &str, name: &str) -> Option<f64> {
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Every metric name an exposition body declares or writes: the `# TYPE` families (with a
/// histogram's `_bucket`, `_count` and `_sum`) and every sample's name.
fn exposed_names(body: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in body.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
                continue;
            };
            out.insert(name.to_owned());
            if ty == "histogram" {
                for suffix in ["_bucket", "_count", "_sum"] {
                    out.insert(format!("{name}{suffix}"));
                }
            }
        } else if !line.starts_with('#') && !line.is_empty() {
            let name: String = line
                .chars()
                .take_while(|c| *c != '{' && *c != ' ')
                .collect();
            out.insert(name);
        }
    }
    out
}

/// The NetPulse metric names (`netpulse_*`, `probe_*`, `process_*`) a PromQL expression
/// reads; quoted strings (label values) and `$variables` are skipped.
fn metric_names_in(expr: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut chars = expr.chars().peekable();
    let mut prev = ' ';
    while let Some(c) = chars.next() {
        if c == '"' {
            // Skip a string, escapes included.
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        chars.next();
                    }
                    '"' => break,
                    _ => {}
                }
            }
            prev = '"';
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' || c == ':' {
            let mut word = String::from(c);
            while let Some(&n) = chars.peek() {
                if n.is_ascii_alphanumeric() || n == '_' || n == ':' {
                    word.push(n);
                    chars.next();
                } else {
                    break;
                }
            }
            let metric = ["netpulse_", "probe_", "process_"]
                .iter()
                .any(|p| word.starts_with(p));
            if prev != '$' && metric {
                out.insert(word);
            }
            prev = 'a';
            continue;
        }
        prev = c;
    }
    out
}

/// The repository's `deploy/` directory.
fn deploy() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy")
}

/// Every alert rule's expression in `deploy/prometheus/netpulse-rules.yml`.
fn rule_exprs() -> Vec<String> {
    let path = deploy().join("prometheus/netpulse-rules.yml");
    let text = std::fs::read_to_string(&path).expect("read the rules");
    let doc: Value = yaml_serde::from_str(&text).expect("rules are YAML");
    let exprs: Vec<String> = doc["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().cloned().unwrap_or_default())
        .map(|r| {
            r["expr"]
                .as_str()
                .expect("every rule has an expr")
                .to_owned()
        })
        .collect();
    assert!(exprs.len() >= 10, "{exprs:?}");
    exprs
}

/// Each dashboard's file name and the queries of its panels (nested rows included) and
/// template variables.
fn dashboard_exprs() -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    for file in ["netpulse-health.json", "netpulse-probes.json"] {
        let text = std::fs::read_to_string(deploy().join("grafana").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let d: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        let mut exprs = Vec::new();
        fn panels(list: &Value, exprs: &mut Vec<String>) {
            for p in list.as_array().into_iter().flatten() {
                for t in p["targets"].as_array().into_iter().flatten() {
                    if let Some(e) = t["expr"].as_str() {
                        exprs.push(e.to_owned());
                    }
                }
                panels(&p["panels"], exprs);
            }
        }
        panels(&d["panels"], &mut exprs);
        for v in d["templating"]["list"].as_array().into_iter().flatten() {
            if v["type"] == "query" {
                let q = v["query"]["query"].as_str().or(v["query"].as_str());
                exprs.push(q.expect("a query variable has a query").to_owned());
            }
        }
        assert!(exprs.len() >= 10, "{file}: {exprs:?}");
        out.push((file.to_owned(), exprs));
    }
    out
}

/// A dashboard query as Prometheus can run it: Grafana's variables replaced by what "All"
/// selects, and `label_values(...)` variable queries by the selector they read.
fn runnable(expr: &str) -> Option<String> {
    let q = expr
        .replace("$__rate_interval", "1m")
        .replace("$__interval", "1m")
        .replace("$edge_job", ".*")
        .replace("$job", ".*")
        .replace("$region", ".*")
        .replace("$monitor", ".*");
    match q.strip_prefix("label_values(") {
        Some(rest) => rest.rsplit_once(',').map(|(sel, _)| sel.trim().to_owned()),
        None => Some(q),
    }
}

/// Runs an instant query; the result rows, or Prometheus's error.
async fn promql(client: &reqwest::Client, prom: &str, q: &str) -> Result<Vec<Value>, String> {
    // Percent-encoded by hand: reqwest is built without its `query` feature.
    let encoded: String = q
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect();
    let resp = client
        .get(format!("{prom}/api/v1/query?query={encoded}"))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let v: Value = resp.json().await.map_err(|e| e.to_string())?;
    if v["status"] != "success" {
        return Err(v.to_string());
    }
    Ok(v["data"]["result"].as_array().cloned().unwrap_or_default())
}

/// Runs promtool on the shipped rules: syntax (`check rules`) and the unit tests in
/// `netpulse-rules.test.yml` (`test rules`).
#[test]
fn alert_rules_pass_promtool() {
    let dir = deploy().join("prometheus");
    for args in [
        ["check", "rules", "netpulse-rules.yml"],
        ["test", "rules", "netpulse-rules.test.yml"],
    ] {
        let out = Command::new("promtool")
            .args(args)
            .current_dir(&dir)
            .output()
            .expect("promtool (Debian prometheus; scripts/test-peers.sh installs it)");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "promtool {}: {text}", args.join(" "));
        println!("promtool {}: {}", args.join(" "), text.trim());
    }
}

/// The dashboards are Grafana dashboards reading a Prometheus chosen by a datasource variable:
/// unique panel ids, every panel and query on `${datasource}`.
#[test]
fn dashboards_use_a_prometheus_datasource_variable() {
    for file in ["netpulse-health.json", "netpulse-probes.json"] {
        let text = std::fs::read_to_string(deploy().join("grafana").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let d: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(d["uid"].is_string() && d["title"].is_string(), "{file}");
        assert!(
            d["schemaVersion"].as_u64().is_some_and(|v| v >= 36),
            "{file}"
        );
        let vars = d["templating"]["list"].as_array().expect("templating");
        assert!(
            vars.iter().any(|v| v["type"] == "datasource"
                && v["query"] == "prometheus"
                && v["name"] == "datasource"),
            "{file}: no Prometheus datasource variable"
        );
        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().expect("panels") {
            assert!(
                ids.insert(p["id"].as_u64().expect("id")),
                "{file}: panel id twice"
            );
            if p["type"] == "row" {
                continue;
            }
            assert_eq!(
                p["datasource"]["uid"], "${datasource}",
                "{file}: {}",
                p["title"]
            );
            for t in p["targets"].as_array().expect("targets") {
                assert_eq!(
                    t["datasource"]["uid"], "${datasource}",
                    "{file}: {}",
                    p["title"]
                );
                assert!(t["expr"].is_string(), "{file}: {}", p["title"]);
            }
        }
    }
}

#[test]
fn metric_names_are_read_from_promql() {
    let names = metric_names_in(
        r#"sum by (region) (netpulse_edge_session_connected{job=~"$edge_job", x="probe_success"} * on (job, instance) group_left (region) netpulse_edge_info) / rate(process_cpu_seconds_total[$__rate_interval])"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        [
            "netpulse_edge_info",
            "netpulse_edge_session_connected",
            "process_cpu_seconds_total"
        ]
    );
    assert_eq!(
        runnable("label_values(netpulse_edge_info, region)").as_deref(),
        Some("netpulse_edge_info")
    );
}
