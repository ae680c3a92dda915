// Capabilities and placement: what each target can do here and now (probed live, never
// assumed, or loaded from a saved profile), what a program needs (read off its instructions
// and maps), and where it should run — a ranked list of candidate targets and, for every
// target left out, the helper, map type, instruction or probe result that excludes it.
#pragma once

#include "common/error.hpp"
#include "host-runtime/insn.hpp"
#include "host-runtime/program_image.hpp"

#include <cstdint>
#include <functional>
#include <iterator>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace harmony::caps {

// ---------------------------------------------------------------------------------------
// Probe results

/// Tri-state, as libbpf's feature cache: not probed (or unknowable), present, missing.
enum class Support : uint8_t { Unknown, Yes, No };

/// One probe's outcome and what it saw (an errno, a sysfs value, a path).
struct Probe {
    Support state = Support::Unknown;
    std::string detail;

    bool yes() const { return state == Support::Yes; }
    bool no() const { return state == Support::No; }
    static Probe supported(std::string detail = {}) { return {Support::Yes, std::move(detail)}; }
    static Probe missing(std::string detail) { return {Support::No, std::move(detail)}; }
};

/// Instruction features a program may use and an engine may lack.
enum class InsnClass : uint8_t {
    Alu32,       ///< 32-bit ALU class
    Jmp32,       ///< 32-bit conditional jumps
    AtomicAdd,   ///< lock xadd (BPF_ATOMIC BPF_ADD without fetch)
    AtomicFetch, ///< other atomics: fetch-and-op, xchg, cmpxchg, or/and/xor
    BpfCall,     ///< bpf-to-bpf call
    CallReg,     ///< callx
    LegacyPacket,///< ld_abs / ld_ind
    MovSx,       ///< ISA v4 sign-extending move
    SignedDiv,   ///< ISA v4 sdiv / smod
    LoadSx,      ///< ISA v4 sign-extending load
    Bswap,       ///< ISA v4 unconditional byte swap
    Ja32,        ///< ISA v4 gotol
    Loop,        ///< a back edge (bounded loop)
    MapReference,///< ld_imm64 of a map (the kernel's map-fd pseudo load)
    MapValueReference, ///< ld_imm64 of an address inside a map value (global data)
};
inline constexpr InsnClass kAllInsnClasses[] = {
    InsnClass::Alu32,  InsnClass::Jmp32,     InsnClass::AtomicAdd, InsnClass::AtomicFetch, InsnClass::BpfCall,
    InsnClass::CallReg, InsnClass::LegacyPacket, InsnClass::MovSx, InsnClass::SignedDiv, InsnClass::LoadSx,
    InsnClass::Bswap,  InsnClass::Ja32,      InsnClass::Loop,      InsnClass::MapReference,
    InsnClass::MapValueReference,
};
std::string_view insn_class_name(InsnClass c); ///< "jmp32", "bpf-call", ...
std::optional<InsnClass> parse_insn_class(std::string_view name);

/// What one execution engine (the kernel's XDP, a NIC, rte_bpf, Harmony's VM) accepts.
struct EngineCaps {
    std::string name;                     ///< "linux", "nfp", "rte_bpf", "harmony-vm"
    std::map<InsnClass, Probe> insns;     ///< Unknown (absent) counts as available
    bool helpers_known = false;           ///< false: helpers were not probed, any is accepted
    std::set<uint32_t> helpers;           ///< callable helper ids (Linux and Harmony)
    bool map_types_known = false;
    std::set<uint32_t> map_types;         ///< BPF_MAP_TYPE_*
    std::set<uint32_t> ctx_fields;        ///< readable struct xdp_md offsets; empty = all
    uint32_t max_insns = 0;               ///< 0 = no known limit
    uint32_t stack_bytes = 0;             ///< 0 = no known limit
    uint32_t max_map_entry_bytes = 0;     ///< key + value, 0 = no known limit
    uint64_t max_map_entries_total = 0;   ///< sum of max_entries over maps, 0 = no known limit
    std::vector<std::string> notes;       ///< provenance of the figures above
};

struct KernelCaps {
    std::string release;   ///< uname -r
    Probe bpf_syscall;     ///< BPF_PROG_LOAD of a trivial XDP program
    Probe jit;             ///< /proc/sys/net/core/bpf_jit_enable
    Probe jit_hardened;    ///< /proc/sys/net/core/bpf_jit_harden
    Probe btf;             ///< /sys/kernel/btf/vmlinux parses
    Probe large_programs;  ///< a program beyond BPF_MAXINSNS (4096) loads: 1M limit applies
    EngineCaps xdp;        ///< the kernel as an engine for XDP programs
};

/// XDP feature bits of the netdev generic netlink family (NETDEV_XDP_ACT_*).
enum XdpFeature : uint64_t {
    kXdpBasic = 1U << 0,
    kXdpRedirect = 1U << 1,
    kXdpNdoXmit = 1U << 2,
    kXdpXskZerocopy = 1U << 3,
    kXdpHwOffload = 1U << 4,
    kXdpRxSg = 1U << 5,
    kXdpNdoXmitSg = 1U << 6,
};
std::vector<std::string> xdp_feature_names(uint64_t bits);

struct XdpAttachment {
    uint32_t mode = 0;    ///< XDP_ATTACHED_* of the kernel
    uint32_t driver_prog = 0, generic_prog = 0, hw_prog = 0;
};

struct InterfaceCaps {
    std::string name;
    uint32_t ifindex = 0;
    Probe driver;               ///< detail: the driver name (ETHTOOL_GDRVINFO)
    std::string driver_version, bus_info;
    Probe xdp_features;         ///< netdev netlink answered; detail: the error otherwise
    uint64_t xdp_feature_bits = 0;
    uint32_t rx_queues = 0, tx_queues = 0;
    XdpAttachment attached;
    Probe native_xdp;           ///< the driver runs XDP itself (feature bit basic)
    Probe hw_offload;           ///< an offloaded program was loaded and attached, or the refusal
    std::optional<EngineCaps> offload_engine; ///< the NIC as an engine (profiles describe it)
};

/// A DPDK port as the dpdk target saw it with EAL up (see ProbeOptions::dpdk_ports).
struct DpdkPortCaps {
    std::string name, driver;
    uint16_t rx_queues = 0;
    Probe rte_flow;                        ///< validated a rule, or the PMD's refusal
    std::vector<std::string> flow_actions; ///< validated actions: "drop", "queue", ...
    Probe steering;                        ///< rte_flow_validate of the DPI steering rules
    Probe drop;                            ///< rte_flow_validate of a per-connection DROP rule
};

struct DpdkCaps {
    std::string version;
    Probe pmd_dir;       ///< detail: the plugin directory
    Probe hugepages;     ///< detail: free pages per size; no means EAL needs --no-huge
    Probe eal_possible;  ///< PMDs present and memory available (hugepages or --no-huge)
    Probe rte_bpf_jit;   ///< detail: the architecture, from loading a program through rte_bpf
    EngineCaps rte_bpf;  ///< what rte_bpf itself takes (probed by loading tiny programs)
    std::vector<DpdkPortCaps> ports;
};

struct HyperscanCaps {
    Probe valid_platform; ///< hs_valid_platform()
    std::string version;
};

struct HostCaps {
    Probe jit;           ///< detail: the JIT architecture; no when executable memory is refused
    EngineCaps vm;       ///< Harmony's verifier, interpreter and JIT
};

struct Capabilities {
    std::string source;  ///< "probed on HOST", or the profile file
    KernelCaps kernel;
    std::vector<InterfaceCaps> interfaces;
    DpdkCaps dpdk;
    HyperscanCaps hyperscan;
    HostCaps host;
    std::vector<std::string> references; ///< where a profile's figures come from

    const InterfaceCaps *interface(std::string_view name) const;
};

// ---------------------------------------------------------------------------------------
// Probing

/// The dpdk target's extension point: with EAL up in its own process, it lists its ports
/// and validates an rte_flow rule on each. The probe never starts EAL itself (EAL starts
/// once per process).
using DpdkPortProbe = std::function<Result<std::vector<DpdkPortCaps>>()>;

struct ProbeOptions {
    std::vector<std::string> interfaces;
    bool attempt_hw_offload = true;  ///< load and attach an offloaded program on each interface
    DpdkPortProbe dpdk_ports;        ///< optional
};

/// The dpdk target's port probe for ProbeOptions::dpdk_ports: starts the EAL when it is not
/// running (offload/eal.hpp; once per process), opens each device — a vdev with its
/// arguments ("net_tap0,iface=htap0") or a PCI address — validates the DPI steering rules and
/// a DROP rule with rte_flow_validate, and closes it again.
DpdkPortProbe dpdk_port_probe(std::vector<std::string> devices);

/// Probes kernel, interfaces, DPDK, Hyperscan and the host runtime. Kernel results are
/// cached for the process; interfaces are probed afresh on every call.
Result<Capabilities> probe(const ProbeOptions &options);

/// The kernel's feature table, each entry probed at most once per process.
KernelCaps probe_kernel();
Result<InterfaceCaps> probe_interface(const std::string &name, bool attempt_hw_offload);
DpdkCaps probe_dpdk(const DpdkPortProbe &ports);
HyperscanCaps probe_hyperscan();
HostCaps probe_host();

// ---------------------------------------------------------------------------------------
// Profiles: capabilities saved to and loaded from JSON

nlohmann::json to_json(const Capabilities &caps);
Result<Capabilities> from_json(const nlohmann::json &doc, std::string source);
Result<void> save_profile(const Capabilities &caps, const std::string &path);
/// Loads a profile. Sections it leaves out (kernel, dpdk, hyperscan, host) are taken from
/// `live` when given, so a profile can describe one NIC and borrow the rest from here.
Result<Capabilities> load_profile(const std::string &path, const Capabilities *live = nullptr);

// ---------------------------------------------------------------------------------------
// Requirements

struct InsnUse {
    InsnClass cls;
    size_t pc = 0;     ///< first instruction of this class
    size_t count = 0;
    std::string text;  ///< that instruction, disassembled
};

struct HelperUse {
    uint32_t id = 0;
    std::string name;  ///< "map_lookup_elem", "hs_match"
    size_t pc = 0;     ///< first call
    size_t count = 0;
};

struct CtxFieldUse {
    uint32_t offset = 0;
    std::string name;  ///< "data", "data_end", ...
    size_t pc = 0;
};

struct Requirements {
    std::string object, program, section;
    uint32_t prog_type = 0;
    size_t insn_count = 0;              ///< instruction slots
    std::vector<InsnUse> insns;         ///< one per class used
    std::vector<HelperUse> helpers;
    std::vector<MapInfo> maps;          ///< the maps the program references
    size_t loops = 0;                   ///< back edges
    std::vector<CtxFieldUse> ctx_fields;
    uint32_t stack_bytes = 0;           ///< deepest call chain's frames

    const InsnUse *uses(InsnClass c) const;
    bool calls_harmony_helper() const;
};

/// Scans one program's decoded instructions. `maps` are the object's maps, indexed by the
/// loader's map references (isa::kMapIdx / kMapIdxValue).
Result<Requirements> scan_requirements(std::span<const isa::Insn> insns, std::span<const MapSpec> maps);
/// Requirements of one program of a loaded image (the first when `program` is empty).
Result<Requirements> read_requirements(const ProgramImage &image, std::string_view program = {});
/// Reads the ELF with the shared loader and scans it.
Result<Requirements> read_requirements(const std::string &path, std::string_view program = {});

/// "map_lookup_elem" for Linux ids, "hs_match" for Harmony ids, "helper#N" otherwise.
std::string helper_name(uint32_t id);
/// "hash", "lpm_trie", ... from libbpf.
std::string map_type_name(uint32_t type);

// ---------------------------------------------------------------------------------------
// Placement

enum class Target : uint8_t { XdpOffload, XdpNative, Dpdk, XdpGeneric, Host };
std::string_view target_name(Target t); ///< "xdp-offload", "xdp-native", "dpdk", "xdp-generic", "host"
Result<Target> parse_target(std::string_view name);

/// Fastest first. (An array, not an initializer list in Policy: g++ 12 warns falsely on that.)
inline constexpr Target kDefaultOrder[] = {Target::XdpOffload, Target::XdpNative, Target::Dpdk, Target::XdpGeneric,
                                           Target::Host};

struct Policy {
    std::vector<Target> order{std::begin(kDefaultOrder), std::end(kDefaultOrder)};
    /// "host,dpdk" — comma-separated target names, most preferred first.
    static Result<Policy> parse(std::string_view text);
};

struct Candidate {
    Target target;
    std::string engine;              ///< what runs it: "linux", "nfp", "rte_bpf", "harmony-vm"
    std::vector<std::string> notes;  ///< e.g. why dpdk runs it on the Harmony VM
};

struct Exclusion {
    Target target;
    std::vector<std::string> reasons; ///< each names the helper, map type, instruction or probe
};

struct Placement {
    std::string program;
    std::string interface;
    std::vector<Candidate> candidates; ///< best first
    std::vector<Exclusion> excluded;
    std::string capabilities_source;   ///< "probed on HOST" or the profile (place_program sets it)

    const Exclusion *exclusion(Target t) const;
    const Candidate *candidate(Target t) const;
    std::string text() const;          ///< the human report `harmony place` prints
};

struct PlaceOptions {
    std::string interface;   ///< XDP targets need one
    Policy policy;
    std::string section;     ///< place_program: the program in the object; the first when empty
    std::string profile;     ///< place_program: a capability profile (JSON) instead of live probes
    bool attempt_hw_offload = true; ///< place_program: try an offloaded attach while probing the interface
    DpdkPortProbe dpdk_ports;       ///< place_program: optional per-port rte_flow probe
};

Placement place(const Requirements &req, const Capabilities &caps, const PlaceOptions &options);

/// Live probes (of options.interface and what ProbeOptions covers), or options.profile with
/// what it leaves out probed here.
Result<Capabilities> capabilities_for(const PlaceOptions &options);
/// The whole decision for one BPF object: read its requirements, probe (or load the
/// profile), place. Fails only when the object or the profile cannot be read or probing
/// fails; an empty candidate list is a valid placement (every exclusion says why).
Result<Placement> place_program(const std::string &program, const PlaceOptions &options);
nlohmann::json to_json(const Placement &placement);
nlohmann::json to_json(const Requirements &req);

// ---------------------------------------------------------------------------------------
// Running where placed (`harmony run --target auto`)

struct Refusal {
    Target target;
    Error error;
};

/// " xdp-native (attach veth0: -EBUSY)"
std::string fmt_refusal(const Refusal &refusal);

template <typename Service>
struct AutoRun {
    Target target;                 ///< where it runs
    Service service;
    std::vector<Refusal> refusals; ///< the candidates before it that refused, in order
};

/// Tries the candidates in order with `attach`, moving to the next when one refuses and
/// logging every refusal through `log`. Fails with all refusals when none accepts.
template <typename Service>
Result<AutoRun<Service>> run_auto(const Placement &placement,
                                  const std::function<Result<Service>(const Candidate &)> &attach,
                                  const std::function<void(const Refusal &)> &log = {})
{
    std::vector<Refusal> refusals;
    for (const Candidate &candidate : placement.candidates) {
        Result<Service> service = attach(candidate);
        if (service) {
            return AutoRun<Service>{candidate.target, std::move(*service), std::move(refusals)};
        }
        refusals.push_back(Refusal{candidate.target, service.error()});
        if (log) {
            log(refusals.back());
        }
    }
    std::string why = placement.candidates.empty() ? "no target can run it" : "every candidate refused:";
    for (const Refusal &r : refusals) {
        why += fmt_refusal(r);
    }
    return fail("place", placement.program, why);
}

} // namespace harmony::caps
