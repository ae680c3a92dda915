// What offload/ offers: the dpdk target. Include this one header.
//   eal.hpp             the process-wide DPDK EAL (no hugepages needed; PMD plugins found)
//   port.hpp            ethdev ports from vdev arguments or PCI addresses
//   rte_bpf_program.hpp programs on librte_bpf (JIT or interpreter), helpers as xsyms
//   queue_program.hpp   the engine a queue runs, and why (DpdkEngineChoice, for placement)
//   queue_forwarder.hpp per-queue bursts between two ports, counters per queue
//   flow_offload.hpp    rte_flow steering and per-connection drop rules, software fallback
//   dpdk_target.hpp     load(): the LoadedProgram replay and bench use
//   dpdk_service.hpp    a program running on live ports
#pragma once

#include "offload/dpdk_service.hpp"
#include "offload/dpdk_target.hpp"
