#!/usr/bin/env bash
# Installs every Debian 12 package Harmony's build, tests and demo need. Idempotent:
# packages already present are skipped by apt, and nothing else is touched.
set -euo pipefail

packages=(
    # toolchain
    build-essential cmake ninja-build pkg-config clang llvm lld
    # BPF and XDP
    libbpf-dev libxdp-dev xdp-tools bpftool libelf-dev zlib1g-dev
    # DPDK (plugin PMDs live under the Debian pmds directory)
    dpdk dpdk-dev libdpdk-dev
    # Hyperscan, packet capture
    libhyperscan-dev libpcap-dev
    # libraries the code prefers to hand-written parts
    libasmjit-dev nlohmann-json3-dev libfmt-dev libcli11-dev libmnl-dev catch2
    # tests and demo: namespaces, traffic, corpus generation
    iproute2 ethtool curl python3 python3-scapy openssl
    # the demo's TLS ClientHellos (cli/demo_tls.cpp)
    libssl-dev
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO=sudo
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
# bpffs for pinned maps; harmless when already mounted or when not root.
if [ "$(id -u)" -eq 0 ] && ! mountpoint -q /sys/fs/bpf; then
    mount -t bpf bpf /sys/fs/bpf || true
fi
