//! Helpers shared by the probe tests against real peers (`probes_real`, `probe_http_nginx`,
//! `probe_snmp`, `probe_ssh`): finding a peer program, and reading an outcome.

#![allow(dead_code)]

use std::path::{Path, PathBuf};

use netpulse_probes::ProbeOutcome;

/// What to do when a peer is missing; tests fail with it, they never skip.
pub const PEERS_HINT: &str = "run scripts/test-peers.sh (as root) to install the test peers";

/// The path of a peer program (searched on `PATH` and in the sbin directories, which a non-login
/// root shell may lack); fails the test when it is not installed.
pub fn require(cmd: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path.split(':').chain([
        "/usr/local/sbin",
        "/usr/sbin",
        "/sbin",
        "/usr/local/bin",
        "/usr/bin",
        "/bin",
    ]);
    for dir in dirs {
        let candidate = Path::new(dir).join(cmd);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("`{cmd}` is not installed: {PEERS_HINT}");
}

/// The error message of an outcome, or "" when it was up.
pub fn message(o: &ProbeOutcome) -> &str {
    o.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")
}

/// A metric that must be there.
pub fn metric(o: &ProbeOutcome, name: &str) -> f64 {
    o.metric(name)
        .unwrap_or_else(|| panic!("metric {name} missing: {o:?}"))
}
