#!/usr/bin/env bash
# The main job on built-in defaults: build, then replay the project's corpus (and the
# shared acceptance corpus when ../shared is present) through dpi.bpf.o on every offline
# target, each checked against its expectations. Needs root for the kernel target.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja >/dev/null
cmake --build "$build" -j"$(nproc)" --target harmony bpf_programs
corpora=(tests/data/basic tests/data/layers tests/data/tricky)
[ -f ../shared/corpus/seed.pcap ] && corpora+=(../shared/corpus/seed ../shared/corpus/variants ../shared/corpus/edge)
for target in native xdp host host-interp dpdk dpdk-interp; do
    for corpus in "${corpora[@]}"; do
        "$build/cli/harmony" replay "$build/bpf/dpi.bpf.o" --pcap "$corpus.pcap" \
            --blocklist "$(dirname "$corpus")/blocklist.txt" --target "$target" --expect "$corpus.expect" >/dev/null
    done
done
# Then the paper's setup live: client, DUT and server namespaces, dpi.bpf.o placed on the
# DUT and run on every target this machine has, the seven home pages fetched through it.
"$build/cli/harmony" demo
