// The dpdk target as a common/service.hpp Service: DpdkService with net_af_packet ports on
// the spec's interfaces. The engine is rte_bpf when its validator accepts the program,
// Harmony's VM otherwise (describe() says which and why); the VM's ring-buffer records are
// collected per packet and handed out by poll_events().
#pragma once

#include "common/service.hpp"
#include "offload/dpdk_target.hpp"

#include <memory>

namespace harmony::dpdk {

/// `jit`: rte_bpf's (or Harmony's) JIT, else the interpreter. `host_vm` loads programs
/// rte_bpf refuses (the CLI passes host::load); without it such a program is an error.
/// Forwarding needs spec.egress; ingress-only runs send PASS to a net_null port, so the
/// program observes (the kernel still delivers every frame: AF_PACKET only copies).
/// both_directions forwards egress -> ingress too, through the same program state.
Result<std::unique_ptr<Service>> start_service(const ServiceSpec &spec, bool jit, HostVmLoader host_vm = {});

} // namespace harmony::dpdk
