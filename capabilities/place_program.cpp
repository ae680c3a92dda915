// The whole placement decision for one BPF object: requirements, capabilities, place().
#include "capabilities.hpp"

namespace harmony::caps {

Result<Capabilities> capabilities_for(const PlaceOptions &options)
{
    ProbeOptions probe_options;
    probe_options.attempt_hw_offload = options.attempt_hw_offload;
    probe_options.dpdk_ports = options.dpdk_ports;
    if (!options.interface.empty()) {
        probe_options.interfaces.push_back(options.interface);
    }
    if (options.profile.empty()) {
        return probe(probe_options);
    }
    auto profile_only = load_profile(options.profile);
    if (!profile_only) {
        return profile_only;
    }
    if (profile_only->interface(options.interface)) {
        probe_options.interfaces.clear(); // the profile describes it; it need not exist here
    }
    auto live = probe(probe_options);
    if (!live) {
        return live;
    }
    return load_profile(options.profile, &*live);
}

Result<Placement> place_program(const std::string &program, const PlaceOptions &options)
{
    auto req = read_requirements(program, options.section);
    if (!req) {
        return std::unexpected(req.error());
    }
    auto found = capabilities_for(options);
    if (!found) {
        return std::unexpected(found.error());
    }
    Placement placement = place(*req, *found, options);
    placement.capabilities_source = found->source;
    return placement;
}

} // namespace harmony::caps
