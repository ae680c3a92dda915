// BPF_PROG_TYPE_* from an ELF section name, by libbpf's conventions (SEC("xdp"),
// SEC("tc"), SEC("socket"), SEC("kprobe/..."), ...). Internal to the loader.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace harmony::loader {

/// The program type of a code section, or std::nullopt when libbpf would not know it.
std::optional<uint32_t> program_type_for_section(std::string_view section);

} // namespace harmony::loader
