// The XDP target as a common/service.hpp Service: xdp::Service (attachment, pins,
// forwarding) with its ring buffer read through libbpf, so `harmony run`, the demo and the
// live benchmark drive XDP exactly as they drive dpdk and host.
#pragma once

#include "common/service.hpp"

#include <memory>
#include <string_view>

namespace harmony::xdp {

/// `target`: xdp (offload > native > generic), xdp-offload, xdp-native or xdp-generic.
/// Maps are pinned under pin_dir(spec.name or the object's stem).
Result<std::unique_ptr<harmony::Service>> start_service(const ServiceSpec &spec, std::string_view target);

} // namespace harmony::xdp
