#!/usr/bin/env bash
# Builds Harmony from scratch and runs the whole test suite (root is needed for the
# kernel, namespace and DPDK tests; CI runs as root).
set -euo pipefail
cd "$(dirname "$0")/.."
build=${BUILD_DIR:-build}
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build "$build" -j"$(nproc)"
ctest --test-dir "$build" --output-on-failure -j1 --timeout 900
if [ "${HARMONY_SANITIZERS:-1}" = 1 ]; then
    # ThreadSanitizer on the concurrent maps, ASan+UBSan on the VM, loader and verifier.
    cmake -S . -B "$build-tsan" -G Ninja -DHARMONY_TSAN=ON
    cmake --build "$build-tsan" -j"$(nproc)" --target maps_concurrency_test
    ctest --test-dir "$build-tsan" --output-on-failure -R '^maps_concurrency_test$'
    cmake -S . -B "$build-asan" -G Ninja -DHARMONY_SANITIZE=ON
    cmake --build "$build-asan" -j"$(nproc)" --target loader_test isa_test jit_test verifier_test maps_test
    ctest --test-dir "$build-asan" --output-on-failure -R '^(loader_test|isa_test|jit_test|verifier_test|maps_test)$'
fi
