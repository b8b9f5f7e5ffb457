//! Free and closed ports on loopback, found by binding port 0 and letting go.
//!
//! A port found here is free *at the time of the call*: a peer that binds it later may lose a
//! race with another process, so peers that take a port by number retry their start with a new
//! one (see [`crate::nsd`], [`crate::nginx`], [`crate::snmpd`]).

use std::net::{SocketAddr, TcpListener, UdpSocket};

/// How many candidates [`free_port_on`] tries before it gives up.
const ATTEMPTS: usize = 50;

/// A TCP port free on 127.0.0.1.
pub fn free_tcp_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral TCP port on 127.0.0.1")
}

/// A UDP port free on 127.0.0.1.
pub fn free_udp_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .and_then(|s| s.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral UDP port on 127.0.0.1")
}

/// One port free for TCP on every address of `tcp` and for UDP on every address of `udp`
/// (e.g. `&["127.0.0.1", "::1"]` twice for a DNS server on both loopbacks).
pub fn free_port_on(tcp: &[&str], udp: &[&str]) -> u16 {
    for _ in 0..ATTEMPTS {
        let port = if udp.is_empty() {
            free_tcp_port()
        } else {
            free_udp_port()
        };
        let free = tcp.iter().all(|ip| TcpListener::bind((*ip, port)).is_ok())
            && udp.iter().all(|ip| UdpSocket::bind((*ip, port)).is_ok());
        if free {
            return port;
        }
    }
    panic!("no port free for TCP on {tcp:?} and UDP on {udp:?} in {ATTEMPTS} attempts");
}

/// A local TCP address nothing listens on (bound, read, released), so connecting is refused.
pub fn closed_port() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    listener.local_addr().expect("local address")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_free_on_both_protocols_can_be_bound_again() {
        let port = free_port_on(&["127.0.0.1"], &["127.0.0.1"]);
        TcpListener::bind(("127.0.0.1", port)).expect("TCP");
        UdpSocket::bind(("127.0.0.1", port)).expect("UDP");
    }

    #[test]
    fn a_closed_port_refuses() {
        let addr = closed_port();
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}
