//! Readers of a probe's outcome shared by the probe tests against real peers (`probes_real`,
//! `probe_http_nginx`, `probe_snmp`, `probe_ssh`). The peers themselves, free ports and
//! `require` live in the `netpulse-test-support` crate.

#![allow(dead_code)]

use netpulse_probes::ProbeOutcome;

/// The error message of an outcome, or "" when it was up.
pub fn message(o: &ProbeOutcome) -> &str {
    o.error.as_ref().map(|e| e.message.as_str()).unwrap_or("")
}

/// A metric that must be there.
pub fn metric(o: &ProbeOutcome, name: &str) -> f64 {
    o.metric(name)
        .unwrap_or_else(|| panic!("metric {name} missing: {o:?}"))
}
