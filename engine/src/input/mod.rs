//! Validation of monitor bodies: `POST /v1/monitors`, `PUT /v1/monitors/{id}` and
//! config-as-code ([`crate::apply`]) all go through [`parse`].
//!
//! # Layout
//! A body is one JSON (or YAML) object. [`MonitorInput::validate`] takes it apart by key:
//! - the common fields (`CommonInput`: `name`, `kind`, `target`, `interval_s`, `timeout_s`,
//!   `regions`, `paused`), parsed and checked here;
//! - the alerting fields, the same for every kind (`alerting.rs`: `confirm`, `recover`,
//!   `quorum`, `alert_channels`, `tags`, ...);
//! - everything else, which belongs to the kind: each kind has a module (`http`, `tcp`, `dns`,
//!   `tls`, `icmp`, `ssh`, `snmp`) with an `Input` struct under `#[serde(deny_unknown_fields)]`
//!   and an `Input::validate(target)` that builds the kind's `ProbeSpec` payload.
//!
//! The split is by the field names serde's derive gives each struct (`fields::names`), so a
//! struct is the only list of its fields. It cannot be left to serde's `flatten`, which turns
//! `deny_unknown_fields` off.
//!
//! # Refusals
//! Every refusal is a `400 invalid_field` naming the field, and no refusal quotes a value (many
//! fields are secrets): an unknown field, a field of another kind (``field `count`: not valid
//! for kind "http" (only for "icmp")``), a value of the wrong type, or one out of bounds. An
//! unknown `kind` is refused with the list of known ones.
//!
//! # Adding a kind
//! Write `monitor_input/<kind>.rs` with `Input` and `validate` (copy `tcp.rs`), declare the
//! module, and add one line to the `register_kinds!` call below. `KINDS`, the dispatch and
//! the tests over every kind (foreign fields, the round trip through the API view) follow from
//! that line; a `ProbeSpec` variant without a line does not compile. `docs/probes.md` is the
//! operators' reference for each kind's fields.

use crate::model::{Monitor, ALL_REGIONS};
use netpulse_protocol::check::ProbeSpec;
use serde::Deserialize;
use serde_json::{Map, Value};

pub use error::InputError;
use fields::{FieldError, Problem};

mod alerting;
mod dns;
mod error;
mod fields;
mod http;
mod icmp;
mod shared;
mod snmp;
mod ssh;
mod tcp;
mod tls;

pub use alerting::tags as validate_tags;

/// Generates [`KINDS`] and the per-kind dispatch from one list, so that a kind is named in one
/// place only.
///
/// Each line is `<module> => <Variant>`: `<module>` is the kind's name in the API (and
/// `ProbeSpec::kind`), its module holds `Input` (`Deserialize`, `deny_unknown_fields`) with
/// `validate(self, target) -> Result<Spec, InputError>`, and `ProbeSpec::<Variant>(Spec)` is
/// what it builds.
macro_rules! register_kinds {
    ($($module:ident => $Variant:ident),+ $(,)?) => {
        /// Kinds a monitor can have, as named in the API, in registration order.
        pub const KINDS: &[&str] = &[$(stringify!($module)),+];

        /// Parses the kind-specific `fields` of a `kind` monitor probing `target`.
        fn parse_probe(
            kind: &str,
            target: &str,
            fields: Map<String, Value>,
        ) -> Result<ProbeSpec, InputError> {
            match kind {
                $(stringify!($module) => {
                    let input: $module::Input =
                        fields::from_fields(fields).map_err(|e| refusal(Some(kind), e))?;
                    input.validate(target).map(ProbeSpec::$Variant)
                })+
                _ => Err(unknown_kind(kind)),
            }
        }

        /// The kinds that have a field named `field`.
        fn kinds_with_field(field: &str) -> Vec<&'static str> {
            let mut kinds = Vec::new();
            $(
                if fields::names::<$module::Input>().contains(&field) {
                    kinds.push(stringify!($module));
                }
            )+
            kinds
        }

        /// The fields of `kind`, beside the common ones.
        fn fields_of(kind: &str) -> &'static [&'static str] {
            match kind {
                $(stringify!($module) => fields::names::<$module::Input>(),)+
                _ => &[],
            }
        }

        // Every `ProbeSpec` variant has a line: this `match` has no wildcard.
        const _: fn(&ProbeSpec) -> &'static str = |spec| match spec {
            $(ProbeSpec::$Variant(_) => stringify!($module),)+
        };
    };
}

register_kinds! {
    http => Http,
    tcp => Tcp,
    dns => Dns,
    tls => Tls,
    icmp => Icmp,
    ssh => Ssh,
    snmp => Snmp,
}

/// A monitor body as submitted: one object, taken apart by [`MonitorInput::validate`].
///
/// It accepts any object, so that every refusal comes from validation and names its field the
/// same way, whether the body came from the API (JSON) or a config file (YAML).
/// No `Debug`: it holds secrets (passwords, keys, communities) as submitted.
#[derive(Deserialize)]
#[serde(transparent)]
pub struct MonitorInput(Map<String, Value>);

/// The fields every monitor has, whatever its kind.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommonInput {
    name: String,
    kind: String,
    target: String,
    interval_s: Option<u32>,
    timeout_s: Option<u32>,
    regions: Vec<String>,
    #[serde(default)]
    paused: bool,
}

/// The validated, kind-independent part of a monitor plus its probe.
#[derive(Debug)]
pub struct ValidMonitor {
    /// Display name.
    pub name: String,
    /// Target as written.
    pub target: String,
    /// Seconds between runs.
    pub interval_s: u32,
    /// Seconds before a run times out.
    pub timeout_s: u32,
    /// Regions.
    pub regions: Vec<String>,
    /// Paused.
    pub paused: bool,
    /// Probe configuration.
    pub probe: ProbeSpec,
    /// Quorum, confirmation and alert routing.
    pub alerting: crate::alerting::AlertSettings,
}

impl ValidMonitor {
    /// A new monitor under `id` (fresh, chosen by the caller: the engine draws no randomness).
    pub fn create(self, id: String, now_ms: i64) -> Monitor {
        self.into_monitor(id, 0, now_ms, now_ms)
    }

    /// The replacement of `old`: same id, creation time and (until applied) revision.
    pub fn replace(self, old: &Monitor, now_ms: i64) -> Monitor {
        self.into_monitor(old.id.clone(), old.revision, old.created_at_ms, now_ms)
    }

    fn into_monitor(
        self,
        id: String,
        revision: u64,
        created_at_ms: i64,
        updated_at_ms: i64,
    ) -> Monitor {
        Monitor {
            id,
            name: self.name,
            target: self.target,
            interval_s: self.interval_s,
            timeout_s: self.timeout_s,
            regions: self.regions,
            paused: self.paused,
            probe: self.probe,
            alerting: self.alerting,
            revision,
            created_at_ms,
            updated_at_ms,
        }
    }

    /// Refuses alert routes to channels that do not exist, naming the field that routes there.
    fn check_channels<E: From<InputError>>(
        &self,
        channel_exists: impl Fn(&str) -> Result<bool, E>,
    ) -> Result<(), E> {
        let steps = self
            .alerting
            .escalation
            .iter()
            .enumerate()
            .flat_map(|(i, s)| {
                s.channels
                    .iter()
                    .map(move |c| (format!("escalation[{i}].channels"), c))
            });
        let own = self
            .alerting
            .channels
            .iter()
            .map(|c| ("alert_channels".to_owned(), c));
        for (field, id) in own.chain(steps) {
            if !channel_exists(id)? {
                return Err(InputError::invalid_field(
                    &field,
                    format!("channel {id} does not exist"),
                )
                .into());
            }
        }
        Ok(())
    }
}

/// The one way a submitted monitor becomes a monitor's settings, for every door that creates
/// or replaces monitors (the API's `POST` and `PUT`, config-as-code), so that none accepts
/// what another refuses: [`MonitorInput::validate`], then the alert routes against the
/// channels that exist (`channel_exists` looks one up in the state).
///
/// Generic over the caller's error, so a lookup that fails in the caller's own way (the
/// coordinator's state store) passes through unchanged.
pub fn parse<E: From<InputError>>(
    input: MonitorInput,
    channel_exists: impl Fn(&str) -> Result<bool, E>,
) -> Result<ValidMonitor, E> {
    let v = input.validate()?;
    v.check_channels(channel_exists)?;
    Ok(v)
}

/// Whether `r` is a usable region tag: 1-32 chars of `[a-z0-9-]`.
pub fn valid_region(r: &str) -> bool {
    (1..=32).contains(&r.len())
        && r.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
}

impl MonitorInput {
    /// Checks every field and builds the probe configuration; needs nothing but the body (the
    /// channels it names are checked by [`parse`]).
    pub fn validate(self) -> Result<ValidMonitor, InputError> {
        let mut body = self.0;
        let common: CommonInput =
            fields::from_fields(take(&mut body, fields::names::<CommonInput>()))
                .map_err(|e| refusal(None, e))?;
        let alerting: alerting::AlertInput =
            fields::from_fields(take(&mut body, fields::names::<alerting::AlertInput>()))
                .map_err(|e| refusal(None, e))?;
        // What is left belongs to the kind.
        let kind_fields = body;

        let name = common.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            return Err(InputError::invalid_field(
                "name",
                "must be 1 to 200 characters",
            ));
        }
        let interval_s = common.interval_s.unwrap_or(60);
        if !(1..=86_400).contains(&interval_s) {
            return Err(InputError::invalid_field(
                "interval_s",
                "must be between 1 and 86400",
            ));
        }
        let timeout_s = common.timeout_s.unwrap_or(interval_s.min(10));
        if !(1..=300).contains(&timeout_s) {
            return Err(InputError::invalid_field(
                "timeout_s",
                "must be between 1 and 300",
            ));
        }
        let regions = check_regions(&common.regions)?;
        let target = common.target.trim().to_owned();
        if target.is_empty() || target.len() > 2048 {
            return Err(InputError::invalid_field(
                "target",
                "must be 1 to 2048 characters",
            ));
        }
        if !KINDS.contains(&common.kind.as_str()) {
            return Err(unknown_kind(&common.kind));
        }
        let alerting = alerting.validate()?;
        let probe = parse_probe(&common.kind, &target, kind_fields)?;
        Ok(ValidMonitor {
            name,
            target,
            interval_s,
            timeout_s,
            regions,
            paused: common.paused,
            probe,
            alerting,
        })
    }
}

/// Region tags (or `"all"`), at least one, deduplicated in order.
fn check_regions(given: &[String]) -> Result<Vec<String>, InputError> {
    if given.is_empty() {
        return Err(InputError::invalid_field(
            "regions",
            "name at least one region (or \"all\")",
        ));
    }
    let mut regions = Vec::with_capacity(given.len());
    for r in given {
        if r != ALL_REGIONS && !valid_region(r) {
            return Err(InputError::invalid_field(
                "regions",
                format!("{r:?} is not a region tag ([a-z0-9-], 1-32 chars)"),
            ));
        }
        if !regions.contains(r) {
            regions.push(r.clone());
        }
    }
    if regions.len() > 64 {
        return Err(InputError::invalid_field("regions", "at most 64 regions"));
    }
    Ok(regions)
}

/// Moves the entries named in `names` out of `body`.
fn take(body: &mut Map<String, Value>, names: &[&str]) -> Map<String, Value> {
    names
        .iter()
        .filter_map(|name| body.remove_entry(*name))
        .collect()
}

/// The refusal of a kind that is not registered.
fn unknown_kind(kind: &str) -> InputError {
    let expected = KINDS
        .iter()
        .map(|k| format!("{k:?}"))
        .collect::<Vec<_>>()
        .join(", ");
    InputError::invalid_field(
        "kind",
        format!("unknown kind {kind:?} (expected one of {expected})"),
    )
}

/// The API error for a part of the body that did not deserialize; `kind` when the part is
/// that kind's fields, to tell a field of another kind from a typo.
fn refusal(kind: Option<&str>, e: FieldError) -> InputError {
    let Some(field) = e.field else {
        return match e.problem {
            Problem::Invalid(why) => InputError::bad_request(why),
            Problem::Unknown | Problem::Missing => InputError::bad_request("malformed monitor"),
        };
    };
    let problem = match (e.problem, kind) {
        (Problem::Unknown, Some(kind)) => {
            let owners = kinds_with_field(&field)
                .iter()
                .map(|k| format!("{k:?}"))
                .collect::<Vec<_>>();
            if owners.is_empty() {
                format!(
                    "unknown field (kind {kind:?} takes {} beside the common fields)",
                    list(fields_of(kind))
                )
            } else {
                format!(
                    "not valid for kind {kind:?} (only for {})",
                    owners.join(" or ")
                )
            }
        }
        (Problem::Unknown, None) => "unknown field".to_owned(),
        (Problem::Missing, _) => "is required".to_owned(),
        (Problem::Invalid(why), _) => why,
    };
    InputError::invalid_field(&field, problem)
}

fn list(names: &[&str]) -> String {
    if names.is_empty() {
        return "no other fields".to_owned();
    }
    names.join(", ")
}

#[cfg(test)]
mod test_support {
    use super::{MonitorInput, ValidMonitor};
    pub(super) use crate::fixtures::{monitor_body as with_kind, CA_PEM};

    /// Parses a body as the API does; the error is the message a client would see.
    pub(super) fn input(v: serde_json::Value) -> Result<ValidMonitor, String> {
        let i: MonitorInput = serde_json::from_value(v).map_err(|e| e.to_string())?;
        i.validate().map_err(|e| e.message())
    }
}

#[cfg(test)]
mod tests {
    use netpulse_protocol::check::TcpSpec;

    use super::test_support::{input, with_kind};
    use super::*;

    #[test]
    fn accepts_and_defaults() {
        let m = input(serde_json::json!({"name": "web", "kind": "http", "target": "http://127.0.0.1:8080/", "regions": ["eu-west"]}))
            .expect("valid");
        assert_eq!((m.interval_s, m.timeout_s), (60, 10));
        let ProbeSpec::Http(h) = m.probe else {
            panic!("http")
        };
        assert_eq!(h.method, "GET");
        assert!(h.follow_redirects);
        let t = input(serde_json::json!({"name": "db", "kind": "tcp", "target": "[::1]:5432", "regions": ["all"]})).expect("valid");
        assert_eq!(
            t.probe,
            ProbeSpec::Tcp(TcpSpec {
                host: "::1".into(),
                port: 5432,
                ..Default::default()
            })
        );
    }

    #[test]
    fn refusals_name_the_field() {
        let cases = [
            (
                serde_json::json!({"name": "", "kind": "http", "target": "http://x", "regions": ["a"]}),
                "name",
            ),
            (
                serde_json::json!({"name": "n", "kind": "smtp", "target": "x", "regions": ["a"]}),
                "kind",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "ftp://x", "regions": ["a"]}),
                "target",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": []}),
                "regions",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["EU"]}),
                "regions",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "interval_s": 0}),
                "interval_s",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "expect_status": ["7xx"]}),
                "expect_status",
            ),
            (
                serde_json::json!({"name": "n", "kind": "http", "target": "http://x", "regions": ["a"], "headers": {"a\nb": "c"}}),
                "headers",
            ),
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:0", "regions": ["a"]}),
                "target",
            ),
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "method": "GET"}),
                "method",
            ),
            // A typo of a common field, a missing one, and common values of the wrong type.
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "intervall_s": 5}),
                "intervall_s",
            ),
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1"}),
                "regions",
            ),
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "timeout_s": "5"}),
                "timeout_s",
            ),
            (
                serde_json::json!({"name": "n", "kind": "tcp", "target": "x:1", "regions": ["a"], "confirm": -1}),
                "confirm",
            ),
            (
                serde_json::json!({"name": "n", "kind": 7, "target": "x:1", "regions": ["a"]}),
                "kind",
            ),
        ];
        for (body, field) in cases {
            let err = input(body.clone()).expect_err("must be refused");
            assert!(err.contains(&format!("`{field}`")), "{body}: {err}");
        }
    }

    /// The messages `docs/probes.md` quotes.
    #[test]
    fn documented_refusals() {
        for (field, value, message) in [
            (
                "count",
                serde_json::json!(3),
                r#"field `count`: not valid for kind "http" (only for "icmp")"#,
            ),
            (
                "counnt",
                serde_json::json!(3),
                r#"field `counnt`: unknown field (kind "http" takes method, headers, body, expect_status, body_contains, follow_redirects, insecure_skip_verify, body_regex, json_path, json_equals, json_contains, ca_pem beside the common fields)"#,
            ),
        ] {
            let err = input(with_kind("http", "http://x/", field, value)).expect_err("refused");
            assert_eq!(err, message);
        }
        let err = input(with_kind("icmp", "h", "counnt", 3)).expect_err("refused");
        assert_eq!(
            err,
            r#"field `counnt`: unknown field (kind "icmp" takes count, packet_size beside the common fields)"#
        );
        let err = input(with_kind("icmp", "h", "count", "3")).expect_err("refused");
        assert_eq!(err, "field `count`: expected u32, found a string");
    }

    #[test]
    fn an_unknown_kind_is_refused_listing_the_known_ones() {
        // Once, any unknown kind was validated as `icmp`; a host name is a valid ICMP target.
        for kind in ["smtp", "ICMP", "", "icmp "] {
            let err = input(with_kind(kind, "gw.example.org", "regions", ["a"]))
                .expect_err("unknown kind");
            assert!(
                err.contains("field `kind`: unknown kind"),
                "{kind:?}: {err}"
            );
            for known in KINDS {
                assert!(err.contains(&format!("{known:?}")), "{err} lacks {known}");
            }
        }
    }

    #[test]
    fn kinds_are_registered_once_each() {
        let mut kinds = KINDS.to_vec();
        kinds.sort_unstable();
        kinds.dedup();
        assert_eq!(kinds.len(), KINDS.len(), "duplicate kind");
        assert_eq!(KINDS, crate::fixtures::monitor_samples().map(|(k, _)| k));
        // A kind's fields never shadow the common or alerting ones: those are taken first and
        // the kind would never see its own.
        let common = fields::names::<CommonInput>();
        let alerting = fields::names::<alerting::AlertInput>();
        for kind in KINDS {
            for field in fields_of(kind) {
                assert!(
                    !common.contains(field) && !alerting.contains(field),
                    "{kind}.{field}"
                );
            }
        }
    }

    #[test]
    fn every_kind_refuses_a_field_it_does_not_have() {
        for kind in KINDS {
            let (_, body) = crate::fixtures::monitor_samples()
                .into_iter()
                .find(|(k, _)| k == kind)
                .expect("a sample per kind");
            let mut unknown = body.clone();
            unknown["no_such_field"] = 1.into();
            let err = input(unknown).expect_err("unknown field");
            assert!(
                err.contains("field `no_such_field`: unknown field"),
                "{kind}: {err}"
            );
            // A field of every other kind (that this kind does not share).
            for other in KINDS.iter().filter(|o| *o != kind) {
                let Some(field) = fields_of(other)
                    .iter()
                    .find(|f| !fields_of(kind).contains(f))
                else {
                    continue;
                };
                let mut foreign = body.clone();
                foreign[*field] = serde_json::Value::Null;
                let err = input(foreign).expect_err("foreign field");
                assert!(
                    err.contains(&format!("field `{field}`: not valid for kind {kind:?}")),
                    "{kind} with {other}'s {field}: {err}"
                );
                assert!(err.contains(&format!("{other:?}")), "{err}");
            }
        }
    }

    #[test]
    fn the_api_and_config_as_code_refuse_unknown_channels() {
        let body = serde_json::json!({"name": "n", "kind": "tcp", "target": "h:1", "regions": ["a"],
            "alert_channels": ["ch_01"], "escalation": [{"after_s": 60, "channels": ["ch_01", "ch_02"]}]});
        let parsed = |exists: &'static [&'static str]| {
            let i: MonitorInput = serde_json::from_value(body.clone()).expect("object");
            parse(i, |id| Ok::<_, InputError>(exists.contains(&id)))
        };
        assert!(parsed(&["ch_01", "ch_02"]).is_ok());
        let err = parsed(&["ch_02"]).expect_err("ch_01 missing");
        assert_eq!(err.field(), Some("alert_channels"));
        let err = parsed(&["ch_01"]).expect_err("ch_02 missing");
        assert_eq!(err.field(), Some("escalation[0].channels"));
    }
}
