//! SSH probe: connect, verify the host key, log in, optionally run a command and judge its
//! output.
//!
//! One run is: resolve (`dns_ms`), TCP connect (`connect_ms`), SSH version and key exchange
//! with the host key checked inside the client handler, authentication (`auth_ms`), then the
//! optional command, whose exit status must be 0, whose output (stdout then stderr) must match
//! `expect_regex`, and from which named numbers are extracted as metrics. `total_ms` covers
//! all of it. The overall timeout around the whole exchange is enforced by `Probe::run`, so a
//! server that accepts TCP and never speaks is reported as [`ErrorClass::Timeout`].
//!
//! # Host keys
//! With a pinned fingerprint (`SHA256:<base64>`, as `ssh-keygen -lf` prints it) the handler
//! refuses any other key during the key exchange, before authentication: no credential is
//! ever sent to a server that fails the check, and the run is [`ErrorClass::Auth`]
//! `host key mismatch: expected X, got Y`. Without one (trust on first use) every key is
//! accepted and the observed fingerprint is reported in [`ProbeOutcome::detail`]
//! (`host key SHA256:...`); recording it and pinning it from then on is the coordinator's
//! job: the key also travels as the `ssh_host_key` fact, and the coordinator pins the first one.
//!
//! # Secrets
//! Passwords, private keys and passphrases never appear in messages, details, logs or the
//! `Debug` output of [`SshProbe`].

use std::fmt;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use netpulse_protocol::check::{SshAuth, SshSpec};
use netpulse_protocol::result::ErrorClass;
use regex::Regex;
use russh::client;
use russh::keys::{HashAlg, PrivateKey, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect, Preferred};
use tokio::time::Instant;

use super::policy::TargetPolicy;
use super::{ms, net, ProbeBuildError, ProbeContext, ProbeKind, ProbeOutcome};

/// Bytes of output kept for matching and extraction (per stream); the rest is discarded.
const MAX_OUTPUT: usize = 64 * 1024;

/// Name of the fact carrying a host key observed while none is pinned.
pub const HOST_KEY_FACT: &str = "ssh_host_key";

/// Bytes of output quoted in the outcome's detail.
const EXCERPT_LEN: usize = 512;

/// Rounds of keyboard-interactive prompts answered before giving up.
const MAX_KBD_ROUNDS: usize = 8;

/// Backstop for a session task left behind by a cancelled run (`Probe::run` drops the
/// future on timeout; the connection then dies with its handle or after this long).
const INACTIVITY_BACKSTOP: Duration = Duration::from_secs(120);

/// Credentials, prepared (a private key is decoded once, at build time).
#[derive(Clone)]
enum Credentials {
    Password(String),
    Key(Arc<PrivateKey>),
    KeyboardInteractive(String),
}

impl Credentials {
    fn method(&self) -> &'static str {
        match self {
            Credentials::Password(_) => "password",
            Credentials::Key(_) => "publickey",
            Credentials::KeyboardInteractive(_) => "keyboard-interactive",
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}(<redacted>)", self.method())
    }
}

/// A validated SSH check.
pub struct SshProbe {
    /// Host name or IP literal, without brackets.
    host: String,
    port: u16,
    username: String,
    credentials: Credentials,
    /// Normalized `SHA256:<base64>`, or `None` for trust on first use.
    pinned: Option<String>,
    command: Option<String>,
    expect: Option<Regex>,
    extract: Vec<(String, Regex)>,
    legacy_algorithms: bool,
    config: Arc<client::Config>,
    /// The node's target policy, checked on every address before connecting.
    policy: Arc<TargetPolicy>,
}

impl fmt::Debug for SshProbe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SshProbe")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("credentials", &self.credentials)
            .field("pinned", &self.pinned)
            .field("command", &self.command)
            .field("expect", &self.expect.as_ref().map(Regex::as_str))
            .field(
                "extract",
                &self
                    .extract
                    .iter()
                    .map(|(n, r)| (n.as_str(), r.as_str()))
                    .collect::<Vec<_>>(),
            )
            .field("legacy_algorithms", &self.legacy_algorithms)
            .finish_non_exhaustive()
    }
}

impl ProbeKind for SshProbe {
    type Spec = SshSpec;

    /// Validates the host, fingerprint and regexes, decodes the private key and prepares the
    /// client configuration.
    fn build(spec: &SshSpec, ctx: &ProbeContext) -> Result<Self, ProbeBuildError> {
        let trimmed = spec.host.trim();
        let host = match trimmed.strip_prefix('[') {
            Some(rest) => rest
                .strip_suffix(']')
                .ok_or_else(|| ProbeBuildError::InvalidHost(spec.host.clone()))?,
            None => trimmed,
        };
        if host.is_empty() || host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ProbeBuildError::InvalidHost(spec.host.clone()));
        }
        if spec.username.is_empty() {
            return Err(ProbeBuildError::InvalidField {
                field: "username",
                reason: "empty".into(),
            });
        }
        let credentials = match &spec.auth {
            SshAuth::Password(p) => Credentials::Password(p.clone()),
            SshAuth::KeyboardInteractive(p) => Credentials::KeyboardInteractive(p.clone()),
            SshAuth::PrivateKey { pem, passphrase } => {
                let key = russh::keys::decode_secret_key(pem, passphrase.as_deref()).map_err(
                    // The error is not quoted: it could echo key material.
                    |_| ProbeBuildError::InvalidField {
                        field: "private_key",
                        reason: "cannot be decoded (unsupported format or wrong passphrase)".into(),
                    },
                )?;
                Credentials::Key(Arc::new(key))
            }
        };
        let pinned = match &spec.host_key_fingerprint {
            None => None,
            Some(f) => {
                Some(
                    normalize_fingerprint(f).ok_or_else(|| ProbeBuildError::InvalidField {
                        field: "host_key_fingerprint",
                        reason: format!("{f:?} is not SHA256:<43 base64 characters>"),
                    })?,
                )
            }
        };
        let expect = spec
            .expect_regex
            .as_deref()
            .map(|re| compile("expect_regex", re))
            .transpose()?;
        let mut extract = Vec::with_capacity(spec.extract.len());
        for (name, re) in &spec.extract {
            let compiled = compile("extract", re)?;
            if compiled.captures_len() != 2 {
                return Err(ProbeBuildError::InvalidField {
                    field: "extract",
                    reason: format!("{name:?} needs exactly one capture group"),
                });
            }
            extract.push((name.clone(), compiled));
        }
        let config = client::Config {
            preferred: preferred(spec.legacy_algorithms),
            inactivity_timeout: Some(INACTIVITY_BACKSTOP),
            nodelay: true,
            ..Default::default()
        };
        Ok(Self {
            host: host.to_owned(),
            port: spec.port,
            username: spec.username.clone(),
            credentials,
            pinned,
            command: spec.command.clone(),
            expect,
            extract,
            legacy_algorithms: spec.legacy_algorithms,
            config: Arc::new(config),
            policy: Arc::clone(&ctx.target_policy),
        })
    }

    /// One login (and command). Never enforces a timeout itself (see `Probe::run`).
    async fn run(&self, _timeout: Duration) -> ProbeOutcome {
        let start = Instant::now();
        let net::Connected {
            stream,
            mut metrics,
            ..
        } = match net::connect(&self.host, self.port, &self.policy).await {
            Ok(c) => c,
            Err(down) => return down,
        };

        let seen = Arc::new(Mutex::new(None));
        let handler = HostKeyCheck {
            pinned: self.pinned.clone(),
            seen: Arc::clone(&seen),
        };
        let handshake = client::connect_stream(Arc::clone(&self.config), stream, handler).await;
        let fingerprint = seen.lock().ok().and_then(|s| s.clone());
        let mut session = match handshake {
            Ok(session) => session,
            Err(e) => {
                let total = ("total_ms".to_owned(), ms(start.elapsed()));
                metrics.push(total);
                return self.handshake_failure(&e, fingerprint.as_deref(), metrics);
            }
        };
        // Under trust on first use the coordinator records the first key it hears of.
        let tofu = |o: ProbeOutcome| match (&fingerprint, &self.pinned) {
            (Some(f), None) => o.with_fact(HOST_KEY_FACT, f.clone()),
            _ => o,
        };
        let mut detail = match (&fingerprint, &self.pinned) {
            (Some(f), Some(_)) => format!("host key {f} (pinned)"),
            (Some(f), None) => format!("host key {f} (not pinned: trust on first use)"),
            (None, _) => "no host key seen".to_owned(),
        };

        let auth_start = Instant::now();
        let auth = self.authenticate(&mut session).await;
        metrics.push(("auth_ms".to_owned(), ms(auth_start.elapsed())));
        if let Err((class, message)) = auth {
            metrics.push(("total_ms".to_owned(), ms(start.elapsed())));
            disconnect(&session).await;
            return tofu(ProbeOutcome::down(class, message, metrics).with_detail(detail));
        }

        let verdict = match &self.command {
            None => Ok(()),
            Some(command) => match run_command(&session, command).await {
                Err(message) => Err((ErrorClass::Protocol, message)),
                Ok(out) => {
                    let text = out.text();
                    detail.push_str(&format!(
                        "; exit status {}; output: {:?}",
                        out.exit_status
                            .map_or_else(|| "none".to_owned(), |s| s.to_string()),
                        excerpt(&out.combined())
                    ));
                    if let Some(status) = out.exit_status {
                        metrics.push(("exit_status".to_owned(), f64::from(status)));
                    }
                    self.judge(&out, &text, &mut metrics)
                }
            },
        };
        disconnect(&session).await;
        metrics.push(("total_ms".to_owned(), ms(start.elapsed())));
        tofu(match verdict {
            Ok(()) => ProbeOutcome::up(metrics).with_detail(detail),
            Err((class, message)) => {
                ProbeOutcome::down(class, message, metrics).with_detail(detail)
            }
        })
    }
}

impl SshProbe {
    /// Maps a failed version or key exchange to an outcome.
    fn handshake_failure(
        &self,
        err: &russh::Error,
        fingerprint: Option<&str>,
        metrics: Vec<(String, f64)>,
    ) -> ProbeOutcome {
        if let (Some(pinned), Some(got)) = (&self.pinned, fingerprint) {
            if pinned != got {
                return ProbeOutcome::down(
                    ErrorClass::Auth,
                    format!("host key mismatch: expected {pinned}, got {got}"),
                    metrics,
                );
            }
        }
        let (class, message) = match err {
            russh::Error::NoCommonAlgo { .. } => (
                ErrorClass::Protocol,
                if self.legacy_algorithms {
                    format!("SSH handshake: {err}")
                } else {
                    format!("SSH handshake: {err} (old servers may need legacy_algorithms)")
                },
            ),
            russh::Error::ConnectionTimeout
            | russh::Error::InactivityTimeout
            | russh::Error::KeepaliveTimeout
            | russh::Error::Elapsed(_) => (ErrorClass::Timeout, format!("SSH handshake: {err}")),
            russh::Error::IO(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
                (ErrorClass::Refused, format!("SSH handshake: {e}"))
            }
            _ => (ErrorClass::Protocol, format!("SSH handshake: {err}")),
        };
        ProbeOutcome::down(class, message, metrics)
    }

    /// Authenticates with the configured method; the error never contains the secret.
    async fn authenticate(
        &self,
        session: &mut client::Handle<HostKeyCheck>,
    ) -> Result<(), (ErrorClass, String)> {
        let user = self.username.clone();
        let method = self.credentials.method();
        let proto = |e: russh::Error| {
            (
                ErrorClass::Protocol,
                format!("{method} authentication: {e}"),
            )
        };
        let denied = |remaining: &russh::MethodSet| {
            let offered: Vec<&str> = remaining.iter().map(<&str>::from).collect();
            (
                ErrorClass::Auth,
                format!(
                    "authentication failed for user {:?} ({method}; server accepts: {})",
                    self.username,
                    if offered.is_empty() {
                        "nothing more".to_owned()
                    } else {
                        offered.join(", ")
                    }
                ),
            )
        };
        let result = match &self.credentials {
            Credentials::Password(p) => session
                .authenticate_password(user, p.clone())
                .await
                .map_err(proto)?,
            Credentials::Key(key) => {
                let hash = if key.algorithm().is_rsa() {
                    session
                        .best_supported_rsa_hash()
                        .await
                        .map_err(proto)?
                        .flatten()
                } else {
                    None
                };
                session
                    .authenticate_publickey(user, PrivateKeyWithHashAlg::new(Arc::clone(key), hash))
                    .await
                    .map_err(proto)?
            }
            Credentials::KeyboardInteractive(p) => {
                let mut reply = session
                    .authenticate_keyboard_interactive_start(user, None)
                    .await
                    .map_err(proto)?;
                let mut rounds = 0;
                loop {
                    match reply {
                        client::KeyboardInteractiveAuthResponse::Success => return Ok(()),
                        client::KeyboardInteractiveAuthResponse::Failure {
                            remaining_methods,
                            ..
                        } => return Err(denied(&remaining_methods)),
                        client::KeyboardInteractiveAuthResponse::InfoRequest {
                            prompts, ..
                        } => {
                            rounds += 1;
                            if rounds > MAX_KBD_ROUNDS {
                                return Err((
                                    ErrorClass::Auth,
                                    format!(
                                        "keyboard-interactive: more than {MAX_KBD_ROUNDS} rounds of prompts"
                                    ),
                                ));
                            }
                            let answers = vec![p.clone(); prompts.len()];
                            reply = session
                                .authenticate_keyboard_interactive_respond(answers)
                                .await
                                .map_err(proto)?;
                        }
                    }
                }
            }
        };
        match result {
            russh::client::AuthResult::Success => Ok(()),
            russh::client::AuthResult::Failure {
                remaining_methods, ..
            } => Err(denied(&remaining_methods)),
        }
    }

    /// Exit status, `expect_regex`, then extraction.
    fn judge(
        &self,
        out: &CommandOutput,
        text: &str,
        metrics: &mut Vec<(String, f64)>,
    ) -> Result<(), (ErrorClass, String)> {
        match (out.exit_status, &out.exit_signal) {
            (_, Some(signal)) => {
                return Err((
                    ErrorClass::Assertion,
                    format!("command killed by signal {signal}"),
                ))
            }
            (Some(0), None) => {}
            (Some(status), None) => {
                return Err((
                    ErrorClass::Assertion,
                    format!("command exited with status {status}"),
                ))
            }
            (None, None) => {
                return Err((
                    ErrorClass::Protocol,
                    "command ended without an exit status".to_owned(),
                ))
            }
        }
        if let Some(re) = &self.expect {
            if !re.is_match(text) {
                return Err((
                    ErrorClass::Assertion,
                    format!("output does not match expect_regex {:?}", re.as_str()),
                ));
            }
        }
        let extracted =
            extract_numbers(text, &self.extract).map_err(|m| (ErrorClass::Assertion, m))?;
        metrics.extend(extracted);
        Ok(())
    }
}

/// The client handler: checks the server's host key during the key exchange.
struct HostKeyCheck {
    pinned: Option<String>,
    /// The fingerprint the server presented, for the outcome.
    seen: Arc<Mutex<Option<String>>>,
}

impl client::Handler for HostKeyCheck {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_public_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let fingerprint = match server_public_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => fingerprint(key),
            PublicKeyOrCertificate::Certificate(cert) => {
                cert.public_key().fingerprint(HashAlg::Sha256).to_string()
            }
        };
        let accept = self.pinned.as_ref().is_none_or(|p| *p == fingerprint);
        if let Ok(mut seen) = self.seen.lock() {
            *seen = Some(fingerprint);
        }
        Ok(accept)
    }
}

/// What a command produced.
#[derive(Debug, Default)]
struct CommandOutput {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    exit_status: Option<u32>,
    exit_signal: Option<String>,
}

impl CommandOutput {
    /// Stdout then stderr, as bytes.
    fn combined(&self) -> Vec<u8> {
        let mut all = self.stdout.clone();
        all.extend_from_slice(&self.stderr);
        all
    }

    /// Stdout then stderr, lossy UTF-8: what `expect_regex` and `extract` see.
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.combined()).into_owned()
    }
}

/// Runs `command` on a new session channel and collects its output and exit status.
async fn run_command(
    session: &client::Handle<HostKeyCheck>,
    command: &str,
) -> Result<CommandOutput, String> {
    let mut channel = session
        .channel_open_session()
        .await
        .map_err(|e| format!("cannot open a session channel: {e}"))?;
    channel
        .exec(true, command)
        .await
        .map_err(|e| format!("cannot run the command: {e}"))?;
    let mut out = CommandOutput::default();
    let keep = |buf: &mut Vec<u8>, data: &[u8]| {
        let room = MAX_OUTPUT.saturating_sub(buf.len());
        buf.extend_from_slice(&data[..data.len().min(room)]);
    };
    while let Some(msg) = channel.wait().await {
        match msg {
            ChannelMsg::Data { data } => keep(&mut out.stdout, &data),
            ChannelMsg::ExtendedData { data, .. } => keep(&mut out.stderr, &data),
            ChannelMsg::ExitStatus { exit_status } => out.exit_status = Some(exit_status),
            ChannelMsg::ExitSignal { signal_name, .. } => {
                out.exit_signal = Some(format!("{signal_name:?}"));
            }
            ChannelMsg::Failure => return Err("the server refused to run the command".into()),
            _ => {}
        }
    }
    Ok(out)
}

/// Says goodbye; a failure here does not change the verdict.
async fn disconnect(session: &client::Handle<HostKeyCheck>) {
    let _ = session
        .disconnect(Disconnect::ByApplication, "", "en")
        .await;
}

/// The algorithms offered: russh's safe defaults, plus SHA-1 key exchanges, CBC ciphers and
/// SHA-1 MACs when `legacy` (for old network gear). `ssh-rsa` host keys (SHA-1 signatures)
/// are in russh's defaults already.
fn preferred(legacy: bool) -> Preferred {
    let default = Preferred::default();
    if !legacy {
        return default;
    }
    let mut kex = default.kex.to_vec();
    kex.extend([
        russh::kex::DH_GEX_SHA1,
        russh::kex::DH_G14_SHA1,
        russh::kex::DH_G1_SHA1,
    ]);
    let mut cipher = default.cipher.to_vec();
    cipher.extend([
        russh::cipher::AES_256_CBC,
        russh::cipher::AES_192_CBC,
        russh::cipher::AES_128_CBC,
    ]);
    let mut mac = default.mac.to_vec();
    mac.extend([russh::mac::HMAC_SHA1_ETM, russh::mac::HMAC_SHA1]);
    Preferred {
        kex: kex.into(),
        cipher: cipher.into(),
        mac: mac.into(),
        ..default
    }
}

/// A public key's SHA-256 fingerprint as OpenSSH prints it: `SHA256:<base64, no padding>`.
pub fn fingerprint(key: &PublicKey) -> String {
    key.fingerprint(HashAlg::Sha256).to_string()
}

/// Brings a fingerprint as an operator writes it to the form [`fingerprint`] produces:
/// `SHA256:` (any case) and 43 base64 characters, `=` padding dropped. `None` if it is not one.
pub fn normalize_fingerprint(f: &str) -> Option<String> {
    let (prefix, b64) = f.trim().split_once(':')?;
    if !prefix.eq_ignore_ascii_case("sha256") {
        return None;
    }
    let b64 = b64.trim_end_matches('=');
    let valid = b64.len() == 43
        && b64
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    valid.then(|| format!("SHA256:{b64}"))
}

/// Extracts each named number (the regex's first capture group) from `text`; fails on the
/// first regex that does not match or captures something that is not a finite number.
pub fn extract_numbers(
    text: &str,
    extract: &[(String, Regex)],
) -> Result<Vec<(String, f64)>, String> {
    extract
        .iter()
        .map(|(name, re)| {
            let captured = re.captures(text).and_then(|c| c.get(1)).ok_or_else(|| {
                format!(
                    "extract {name:?}: {:?} does not match the output",
                    re.as_str()
                )
            })?;
            let raw = captured.as_str().trim();
            raw.parse::<f64>()
                .ok()
                .filter(|v| v.is_finite())
                .map(|v| (name.clone(), v))
                .ok_or_else(|| format!("extract {name:?}: {raw:?} is not a number"))
        })
        .collect()
}

/// The first [`EXCERPT_LEN`] bytes of `output`, as lossy UTF-8.
pub fn excerpt(output: &[u8]) -> String {
    String::from_utf8_lossy(&output[..output.len().min(EXCERPT_LEN)]).into_owned()
}

fn compile(field: &'static str, re: &str) -> Result<Regex, ProbeBuildError> {
    regex::RegexBuilder::new(re)
        .size_limit(1 << 20)
        .build()
        .map_err(|e| ProbeBuildError::InvalidField {
            field,
            reason: format!("invalid regex: {e}"),
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Generated with `ssh-keygen -t ed25519`; `ssh-keygen -lf` printed the fingerprint.
    const PUBLIC_KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOq074uhRqQs81R6LDgBbTqcr3wODi0QwFC73dAWfGgz test";
    const PUBLIC_KEY_FINGERPRINT: &str = "SHA256:dlmkee9/IJAsHw405td3a7rd8v71mWicU0jxT5uIKzk";

    #[test]
    fn fingerprint_is_formatted_like_openssh() {
        let key = PublicKey::from_openssh(PUBLIC_KEY).expect("public key parses");
        assert_eq!(fingerprint(&key), PUBLIC_KEY_FINGERPRINT);
    }

    #[test]
    fn fingerprints_normalize() {
        let f = PUBLIC_KEY_FINGERPRINT;
        let b64 = &f["SHA256:".len()..];
        assert_eq!(normalize_fingerprint(f).as_deref(), Some(f));
        assert_eq!(
            normalize_fingerprint(&format!(" sha256:{b64}= ")).as_deref(),
            Some(f)
        );
        assert_eq!(normalize_fingerprint(b64), None);
        assert_eq!(normalize_fingerprint("MD5:aa:bb"), None);
        assert_eq!(normalize_fingerprint("SHA256:tooshort"), None);
        assert_eq!(
            normalize_fingerprint(&format!("SHA256:{}!", &b64[1..])),
            None
        );
    }

    #[test]
    fn numbers_are_extracted() {
        let re = |name: &str, r: &str| (name.to_owned(), Regex::new(r).expect("regex"));
        let text = " 10:01:02 up 3 days, load average: 0.52, 0.58, 0.59\nusers=12\n";
        let got = extract_numbers(
            text,
            &[
                re("load1", r"load average: ([0-9.]+)"),
                re("users", r"users=(\d+)"),
            ],
        )
        .expect("extracts");
        assert_eq!(got, vec![("load1".into(), 0.52), ("users".into(), 12.0)]);
        let err = extract_numbers(text, &[re("x", r"nothing=(\d+)")]).expect_err("no match");
        assert!(err.contains("\"x\""), "{err}");
        let err = extract_numbers(text, &[re("up", r"up (\d+ days)")]).expect_err("not a number");
        assert!(err.contains("not a number"), "{err}");
        assert!(extract_numbers("v=inf", &[re("v", r"v=(\w+)")]).is_err());
    }

    #[test]
    fn excerpt_is_bounded_and_lossy() {
        assert_eq!(excerpt(b"ok\n"), "ok\n");
        assert_eq!(excerpt(&[b'a'; 2000]).len(), EXCERPT_LEN);
        assert_eq!(excerpt(&[0xff, b'x']), "\u{fffd}x");
    }

    #[test]
    fn legacy_algorithms_are_opt_in() {
        let safe = preferred(false);
        assert!(!safe.kex.contains(&russh::kex::DH_G14_SHA1));
        let legacy = preferred(true);
        assert!(legacy.kex.contains(&russh::kex::DH_G14_SHA1));
        assert!(legacy.cipher.contains(&russh::cipher::AES_128_CBC));
        assert!(legacy.mac.contains(&russh::mac::HMAC_SHA1));
        assert_eq!(legacy.kex[..safe.kex.len()], safe.kex[..]);
    }

    #[test]
    fn debug_and_build_errors_never_show_secrets() {
        let mut spec = SshSpec {
            host: "127.0.0.1".into(),
            port: 22,
            username: "u".into(),
            auth: SshAuth::Password("hunter2".into()),
            host_key_fingerprint: None,
            command: None,
            expect_regex: None,
            extract: Vec::new(),
            legacy_algorithms: false,
        };
        let ctx = ProbeContext::for_node("r", "n");
        let probe = SshProbe::build(&spec, &ctx).expect("builds");
        assert!(!format!("{probe:?}").contains("hunter2"));
        spec.auth = SshAuth::PrivateKey {
            pem:
                "-----BEGIN OPENSSH PRIVATE KEY-----\nhunter2\n-----END OPENSSH PRIVATE KEY-----\n"
                    .into(),
            passphrase: Some("hunter2".into()),
        };
        let err = SshProbe::build(&spec, &ctx).expect_err("bad key");
        assert!(!err.to_string().contains("hunter2"), "{err}");
        spec.auth = SshAuth::Password("p".into());
        spec.host_key_fingerprint = Some("SHA256:nope".into());
        assert!(SshProbe::build(&spec, &ctx).is_err());
        spec.host_key_fingerprint = None;
        spec.extract = vec![("n".into(), r"\d+".into())];
        assert!(SshProbe::build(&spec, &ctx).is_err());
    }
}
