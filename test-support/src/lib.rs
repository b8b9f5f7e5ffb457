//! Test peers and fixtures shared by the tests and benchmarks of every NetPulse crate, so each
//! peer exists once: a crate's tests take this crate as a dev-dependency instead of copying a
//! server into their own `tests/support/`.
//!
//! # Layout
//! - Real servers someone else wrote, started per test from a temporary directory on free
//!   ports, polled until ready, stopped on drop: [`nsd`] (DNS), [`nginx`] (HTTP/HTTPS),
//!   [`openssl`] (`openssl s_server`, TLS), [`sshd`] (OpenSSH), [`snmpd`] (net-snmp), [`smtp`]
//!   (aiosmtpd, an SMTP sink keeping every message).
//! - Local peers written here, on `127.0.0.1:0`: [`target`] (an HTTP or TCP target that can be
//!   stopped and brought back on its port), [`receiver`] (a webhook consumer that checks
//!   signatures and can be told to fail), [`peers`] (servers that fail the way real services
//!   do: an HTTP error status, an SMTP refusal, silence).
//! - Plumbing: [`ports`] (free and closed ports), [`process`] (a child killed on drop, and
//!   [`process::require`] to find a peer program).
//! - [`fixtures`]: sample monitors, nodes and results.
//!
//! # Missing peers fail, they never skip
//! A peer that is not installed fails the test with the Debian package to install (see
//! [`process::require`]); `scripts/test-peers.sh` installs them all. A test that passes has run.
//!
//! # Adding a peer
//! One module here, named after the program: a type whose `start` returns once the peer
//! answers (polled with a hand-made request, not the code under test), which holds its child in
//! a [`process::KillOnDrop`] and its files in a `tempfile::TempDir`, and which retries on a new
//! port when another process took the one it was given.
//!
//! ```
//! use netpulse_test_support::ports::{closed_port, free_tcp_port};
//!
//! let port = free_tcp_port();
//! assert_ne!(port, 0);
//! assert!(std::net::TcpStream::connect(closed_port()).is_err());
//! ```

#![deny(missing_docs)]

pub mod fixtures;
pub mod nginx;
pub mod nsd;
pub mod openssl;
pub mod peers;
pub mod ports;
pub mod process;
pub mod receiver;
pub mod smtp;
pub mod snmpd;
pub mod sshd;
pub mod target;
