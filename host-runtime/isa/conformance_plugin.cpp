// harmony_conformance_plugin: Harmony's interpreter as a bpf_conformance plugin. Reads the
// program as hex bytes on stdin, takes the initial memory as hex bytes in argv[1], runs the
// program and prints r0 in hex. A refused program or a fault exits with status 1 and the
// reason on stderr, which the runner counts as an error.
#include "host-runtime/isa/conformance_runner.hpp"

#include <cctype>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <iterator>
#include <optional>
#include <string>

namespace {

using namespace harmony;

std::optional<std::vector<uint8_t>> parse_hex_bytes(const std::string &text)
{
    std::vector<uint8_t> out;
    std::string digits;
    for (char c : text) {
        if (std::isxdigit(static_cast<unsigned char>(c))) {
            digits += c;
        } else if (!std::isspace(static_cast<unsigned char>(c))) {
            return {};
        }
    }
    if (digits.size() % 2 != 0) {
        return {};
    }
    for (size_t i = 0; i < digits.size(); i += 2) {
        out.push_back(static_cast<uint8_t>(std::stoul(digits.substr(i, 2), nullptr, 16)));
    }
    return out;
}

int refuse(const std::string &why)
{
    std::fprintf(stderr, "%s\n", why.c_str());
    return 1;
}

} // namespace

int main(int argc, char **argv)
{
    std::string program_text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto bytes = parse_hex_bytes(program_text);
    if (!bytes || bytes->size() % sizeof(isa::RawInsn) != 0) {
        return refuse("program: expected hex bytes, a multiple of 8, on stdin");
    }
    auto memory = parse_hex_bytes(argc > 1 ? argv[1] : "");
    if (!memory) {
        return refuse("memory: expected hex bytes in the first argument");
    }
    std::vector<isa::RawInsn> slots(bytes->size() / sizeof(isa::RawInsn));
    std::memcpy(slots.data(), bytes->data(), bytes->size());
    auto insns = isa::decode(slots);
    if (!insns) {
        return refuse(insns.error().message());
    }
    auto executor = vm::make_interpreter(isa::link_conformance_program(std::move(*insns)));
    if (!executor) {
        return refuse(executor.error().message());
    }
    auto r0 = isa::run_conformance_program(**executor, *memory);
    if (!r0) {
        return refuse(r0.error().message());
    }
    std::printf("%llx\n", static_cast<unsigned long long>(*r0));
    return 0;
}
