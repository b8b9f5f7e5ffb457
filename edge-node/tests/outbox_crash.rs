//! Kill -9 test of the result outbox.
//!
//! The parent test re-executes this test binary as a child (selected by an environment variable
//! and an `--exact` filter). The child pushes and acknowledges results in a loop and prints every
//! sequence it was told is durable, and every acknowledgement that returned. The parent kills it
//! with SIGKILL mid-loop, reopens the outbox and checks that every durable result survived with
//! its content, that every acknowledged one is gone, and that numbering continues above
//! everything the child handed out. Several kill rounds run on the same
//! directory. Acknowledgements are not synced, but a process crash keeps them (they are in the page
//! cache), so acknowledged results must not come back here; only a power loss may bring them back.

use std::{
    collections::BTreeMap,
    io::{BufRead, BufReader, Write},
    path::Path,
    process::{Command, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

use netpulse_edge::outbox::Outbox;
use netpulse_protocol::result::{CheckResult, CheckStatus, ErrorClass, ProbeError};

/// Set in the child's environment to the outbox directory.
const CHILD_ENV: &str = "NETPULSE_OUTBOX_CRASH_CHILD_DB";
/// Name of the child entry point, passed with `--exact`.
const CHILD_TEST: &str = "outbox_crash_child";
/// Durable lines to see before the kill, one round each; varied so the kill lands in different
/// phases of the child's push/ack cycle.
const KILL_AFTER: [usize; 4] = [150, 187, 233, 96];

/// Small segments, so the rounds also kill the child while it rolls over to a new segment and
/// deletes acknowledged ones.
const SEGMENT_BYTES: u64 = 2048;

fn open_outbox(dir: &Path) -> Outbox {
    Outbox::open_with_segment_bytes(dir, SEGMENT_BYTES).expect("open outbox")
}

fn result(monitor_id: String, n: u64) -> CheckResult {
    CheckResult {
        seq: 0,
        monitor_id,
        revision: n,
        checked_at_ms: 1_790_000_000_000 + n as i64,
        status: if n % 5 == 0 {
            CheckStatus::Down
        } else {
            CheckStatus::Up
        },
        duration_us: 1_000 + n,
        error: (n % 5 == 0).then(|| ProbeError {
            class: ErrorClass::Timeout,
            message: format!("timeout {n}"),
        }),
        metrics: vec![("total_us".into(), n as f64)],
        detail: None,
        facts: Vec::new(),
        impaired: false,
    }
}

/// Child entry point; a no-op unless started by [`outbox_survives_sigkill`].
#[test]
fn outbox_crash_child() {
    let Ok(path) = std::env::var(CHILD_ENV) else {
        return;
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let outbox = open_outbox(Path::new(&path));
        let pid = std::process::id();
        let mut out = std::io::stdout().lock();
        let mut printed: Vec<u64> = Vec::new();
        // libtest has printed "test outbox_crash_child ... " without a newline; start our own line.
        writeln!(out).unwrap();
        for n in 1u64.. {
            // Mix single pushes and bursts, and acknowledge an older prefix now and then.
            let ids: Vec<String> = (0..if n % 4 == 0 { 3 } else { 1 })
                .map(|k| format!("mon_{pid}_{n}_{k}"))
                .collect();
            let seqs = if ids.len() == 1 {
                vec![outbox.push(result(ids[0].clone(), n)).await.unwrap()]
            } else {
                let batch = ids.iter().map(|id| result(id.clone(), n)).collect();
                outbox.push_many(batch).await.unwrap()
            };
            for (seq, id) in seqs.iter().zip(&ids) {
                // One write per line, so a kill can cut off at most the last line.
                writeln!(out, "durable {seq} {id} end").unwrap();
                printed.push(*seq);
            }
            out.flush().unwrap();
            if n % 20 == 0 && printed.len() > 10 {
                let up_to = printed[printed.len() - 10];
                // An ack cut short by the kill may have deleted part of its range.
                writeln!(out, "acking {up_to} end").unwrap();
                out.flush().unwrap();
                outbox.ack(up_to).await.unwrap();
                writeln!(out, "acked {up_to} end").unwrap();
                out.flush().unwrap();
            }
        }
    });
}

#[derive(Debug, Default)]
struct ChildReport {
    /// Durable sequence -> monitor id.
    durable: BTreeMap<u64, String>,
    /// Highest acknowledgement that returned.
    acked: Option<u64>,
    /// Highest acknowledgement started (possibly interrupted by the kill).
    acking: Option<u64>,
}

/// Parses the child's output; only the very last line may be cut off by the kill.
fn parse(lines: &[String]) -> ChildReport {
    let mut report = ChildReport::default();
    let relevant: Vec<&String> = lines
        .iter()
        .filter(|l| {
            ["durable", "acking", "acked"]
                .iter()
                .any(|p| l.starts_with(p))
        })
        .collect();
    for (i, line) in relevant.iter().enumerate() {
        let fields: Vec<&str> = line.split(' ').collect();
        let whole = match fields.as_slice() {
            ["durable", seq, id, "end"] => {
                let seq: u64 = seq.parse().expect("seq");
                let prev = report.durable.insert(seq, id.to_string());
                assert!(prev.is_none(), "sequence {seq} handed out twice");
                true
            }
            ["acking", up_to, "end"] => {
                let up_to: u64 = up_to.parse().expect("ack");
                report.acking = Some(report.acking.map_or(up_to, |a| a.max(up_to)));
                true
            }
            ["acked", up_to, "end"] => {
                let up_to: u64 = up_to.parse().expect("ack");
                report.acked = Some(report.acked.map_or(up_to, |a| a.max(up_to)));
                true
            }
            _ => false,
        };
        assert!(
            whole || i + 1 == relevant.len(),
            "garbled line {line:?} before the last one"
        );
    }
    report
}

/// Runs the child until it has reported `kill_after` durable results, SIGKILLs it and returns
/// all it printed.
fn run_and_kill(dir: &Path, kill_after: usize) -> ChildReport {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args([CHILD_TEST, "--exact", "--nocapture", "--test-threads", "1"])
        .env(CHILD_ENV, dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut all = Vec::new();
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line.clone());
            all.push(line);
        }
        all
    });

    let deadline = Instant::now() + Duration::from_secs(60);
    let mut durable = 0;
    let mut acks = 0;
    while durable < kill_after || acks < 2 {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(line) if line.starts_with("durable ") => durable += 1,
            Ok(line) if line.starts_with("acked ") => acks += 1,
            Ok(_) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("child stopped reporting after {durable} results ({e:?})");
            }
        }
    }
    child.kill().expect("SIGKILL child");
    let status = child.wait().expect("reap child");
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(
            status.signal(),
            Some(9),
            "child was not killed by SIGKILL: {status:?}"
        );
    }
    #[cfg(not(unix))]
    assert!(!status.success());
    // Everything the child wrote before it died is in the pipe.
    let lines = reader.join().expect("reader thread");
    parse(&lines)
}

#[test]
fn outbox_survives_sigkill() {
    let dir = tempfile::tempdir().unwrap();
    let mut highest_ever = 0u64;
    for (round, kill_after) in KILL_AFTER.into_iter().enumerate() {
        let report = run_and_kill(dir.path(), kill_after);
        let acked = report.acked.expect("the child acknowledged something");
        // Between `acked` and `acking` an interrupted ack may or may not have deleted entries.
        let acking = report.acking.unwrap_or(acked).max(acked);
        let (&first, _) = report.durable.first_key_value().expect("durable results");
        let (&last, _) = report.durable.last_key_value().expect("durable results");
        assert!(
            first > highest_ever,
            "round {round}: seq {first} reused (had {highest_ever})"
        );
        assert!(report.durable.len() >= kill_after);

        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let outbox = open_outbox(dir.path());
            let stored: BTreeMap<u64, String> = outbox
                .peek(None, usize::MAX, usize::MAX)
                .expect("peek after kill")
                .into_iter()
                .map(|r| (r.seq, r.monitor_id))
                .collect();

            for (seq, id) in &report.durable {
                if *seq <= acked {
                    assert!(
                        !stored.contains_key(seq),
                        "round {round}: acked seq {seq} is back"
                    );
                } else if *seq <= acking {
                    if let Some(got) = stored.get(seq) {
                        assert_eq!(got, id, "round {round}: seq {seq} changed");
                    }
                } else {
                    assert_eq!(
                        stored.get(seq),
                        Some(id),
                        "round {round}: durable seq {seq} lost or changed"
                    );
                }
            }
            assert!(
                outbox.oldest_seq().is_none_or(|s| s > acked),
                "round {round}: entries at or below the ack {acked} remain"
            );

            eprintln!(
                "round {round}: child reported {} durable ({first}..={last}), acked up to \
                 {acked} (interrupted ack up to {acking}); {} pending after reopen",
                report.durable.len(),
                stored.len()
            );
            let next = outbox.push(result("after_crash".into(), 0)).await.unwrap();
            assert!(
                next > last,
                "round {round}: seq {next} not above the durable {last}"
            );
            highest_ever = next;
        });
    }
}
