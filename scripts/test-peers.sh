#!/usr/bin/env bash
# Installs the real servers and tools that the probe integration tests run against
# (probes/tests/probes_real.rs, probes/tests/compliance.rs): nsd (DNS), openssl (s_server), iproute2 (network
# namespaces), procps (sysctl), nftables (packet loss inside a test namespace),
# ca-certificates (system roots for the TLS probe), snmpd + snmp tools (SNMP probe,
# probes/tests/probe_snmp.rs), OpenSSH sshd + ssh-keygen and passwd (useradd, chpasswd) for
# the SSH probe (probes/tests/probe_ssh.rs), nginx for the HTTP probe
# (probes/tests/probe_http_nginx.rs; the tests run their own nginx on free ports, the
# package's service is never started), and the aiosmtpd SMTP server (python3-aiosmtpd) that the
# e-mail alert channel is delivered to (alert/tests/email.rs), and faketime (libfaketime) to
# run a coordinator and an edge node on skewed clocks (tests/t55_clocks.rs), and Prometheus
# with promtool, which scrape and check the coordinator's /metrics (tests/t80_metrics.rs).
#
# Idempotent and fast when everything is present: apt is only touched for what is missing.
# Needs root (or sudo) to install; the tests themselves also need root for ICMP and network
# namespaces. Usage: scripts/test-peers.sh
set -euo pipefail

# command -> Debian package providing it
declare -A wanted=(
  [nsd]=nsd
  [nsd-checkconf]=nsd
  [openssl]=openssl
  [ip]=iproute2
  [sysctl]=procps
  [unshare]=util-linux
  [nft]=nftables
  [snmpd]=snmpd
  [snmpget]=snmp
  [sshd]=openssh-server
  [ssh-keygen]=openssh-client
  [chpasswd]=passwd
  [useradd]=passwd
  [nginx]=nginx
  [faketime]=faketime
  [prometheus]=prometheus
  [promtool]=prometheus
)

missing=()
for cmd in "${!wanted[@]}"; do
  if ! command -v "$cmd" >/dev/null 2>&1 && ! [ -x "/usr/sbin/$cmd" ]; then
    missing+=("${wanted[$cmd]}")
  fi
done
if ! [ -s /etc/ssl/certs/ca-certificates.crt ]; then
  missing+=(ca-certificates)
fi
# A Python module, not a command: check that the system interpreter can import it.
if ! /usr/bin/python3 -c 'import aiosmtpd' >/dev/null 2>&1; then
  missing+=(python3-aiosmtpd)
fi

if [ "${#missing[@]}" -eq 0 ]; then
  echo "test peers: all present"
  exit 0
fi

# Unique package names, stable order.
mapfile -t pkgs < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "test peers: installing ${pkgs[*]}"

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "test peers: need root to install ${pkgs[*]}" >&2
    exit 1
  fi
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d keeps the packages from starting system-wide services (nsd on port 53, nginx on
# port 80, sshd, snmpd): the tests start their own on free ports.
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' | $SUDO tee /usr/sbin/policy-rc.d >/dev/null
  $SUDO chmod +x /usr/sbin/policy-rc.d
  trap '$SUDO rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y --no-install-recommends "${pkgs[@]}"
echo "test peers: installed ${pkgs[*]}"
