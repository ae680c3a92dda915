// The loader on real clang-built objects: maps from BTF and global data, map relocations,
// bpf-to-bpf calls and callbacks appended as libbpf does, and the objects it must refuse.
#include "host-runtime/loader/loader.hpp"
#include "host-runtime/loader/program_types.hpp"

#include <catch2/catch.hpp>
#include <linux/bpf.h>

#include <filesystem>

using namespace harmony;

namespace {

std::string object(const std::string &name)
{
    return std::string(HARMONY_BPF_DIR) + "/" + name + ".bpf.o";
}

ProgramImage load_ok(const std::string &name)
{
    auto image = load_program_image(object(name));
    INFO((image ? std::string() : image.error().message()));
    REQUIRE(image);
    return std::move(*image);
}

const MapSpec &map_named(const ProgramImage &image, std::string_view name)
{
    int index = image.map_index(name);
    INFO(name);
    REQUIRE(index >= 0);
    return image.maps[index];
}

/// Where each CallLocal (or pseudo-func ld_imm64) of a program lands.
std::vector<size_t> code_targets(const ProgramSection &program)
{
    std::vector<size_t> targets;
    for (size_t pc = 0; pc < program.insns.size(); pc++) {
        const isa::Insn &insn = program.insns[pc];
        bool func_addr = insn.op == isa::Op::LoadImm64 && insn.pseudo == isa::kFunc;
        if (insn.op == isa::Op::CallLocal || func_addr) {
            int64_t target = static_cast<int64_t>(pc) + 1 + insn.imm;
            REQUIRE(target >= 0);
            REQUIRE(static_cast<size_t>(target) < program.insns.size());
            targets.push_back(static_cast<size_t>(target));
        }
    }
    return targets;
}

size_t count_op(const ProgramSection &program, isa::Op op)
{
    return std::ranges::count(program.insns, op, &isa::Insn::op);
}

} // namespace

TEST_CASE("loader reads BTF maps and global data", "[loader]")
{
    ProgramImage image = load_ok("loader_features");
    CHECK(image.license == "GPL");

    const MapSpec &hash = map_named(image, "hash");
    CHECK(hash.info.type == BPF_MAP_TYPE_HASH);
    CHECK(hash.info.key_size == 4);
    CHECK(hash.info.value_size == 8);
    CHECK(hash.info.max_entries == 16);
    CHECK_FALSE(hash.global_data);

    const MapSpec &events = map_named(image, "events");
    CHECK(events.info.type == BPF_MAP_TYPE_RINGBUF);
    CHECK(events.info.max_entries == 4096);
    CHECK(events.info.key_size == 0);

    const MapSpec &sized = map_named(image, "sized");
    CHECK(sized.info.type == BPF_MAP_TYPE_ARRAY);
    CHECK(sized.info.value_size == 24);
    CHECK(sized.info.flags == BPF_F_RDONLY_PROG);

    const MapSpec &rodata = map_named(image, ".rodata");
    CHECK(rodata.global_data);
    CHECK(rodata.read_only);
    CHECK(rodata.info.max_entries == 1);
    REQUIRE(rodata.initial_value.size() == rodata.info.value_size);
    CHECK(rodata.initial_value[0] == 7); // config
    const MapSpec &data = map_named(image, ".data");
    CHECK_FALSE(data.read_only);
    CHECK(data.initial_value == Bytes{3, 0, 0, 0, 0, 0, 0, 0}); // counter
    const MapSpec &bss = map_named(image, ".bss");
    CHECK(bss.initial_value == Bytes(8, 0));
    CHECK(image.map_index("absent") == -1);
}

TEST_CASE("loader finds every program with its type", "[loader]")
{
    ProgramImage image = load_ok("loader_features");
    REQUIRE(image.programs.size() == 2);
    const ProgramSection *xdp = image.program("features");
    REQUIRE(xdp);
    CHECK(xdp->section == "xdp");
    CHECK(xdp->prog_type == BPF_PROG_TYPE_XDP);
    CHECK(image.program("xdp") == xdp); // by section name too
    const ProgramSection *tc = image.program("classifier");
    REQUIRE(tc);
    CHECK(tc->prog_type == BPF_PROG_TYPE_SCHED_CLS);
    CHECK(image.program("nothing") == nullptr);
}

TEST_CASE("program types follow libbpf's section names", "[loader]")
{
    using loader::program_type_for_section;
    CHECK(program_type_for_section("xdp") == BPF_PROG_TYPE_XDP);
    CHECK(program_type_for_section("xdp.frags") == BPF_PROG_TYPE_XDP);
    CHECK(program_type_for_section("xdp/devmap") == BPF_PROG_TYPE_XDP);
    CHECK(program_type_for_section("tc") == BPF_PROG_TYPE_SCHED_CLS);
    CHECK(program_type_for_section("classifier") == BPF_PROG_TYPE_SCHED_CLS);
    CHECK(program_type_for_section("socket") == BPF_PROG_TYPE_SOCKET_FILTER);
    CHECK(program_type_for_section("kprobe/do_sys_open") == BPF_PROG_TYPE_KPROBE);
    CHECK(program_type_for_section("tp/syscalls/sys_enter_open") == BPF_PROG_TYPE_TRACEPOINT);
    CHECK(program_type_for_section("cgroup/sock_create") == BPF_PROG_TYPE_CGROUP_SOCK);
    CHECK(program_type_for_section("cgroup/connect4") == BPF_PROG_TYPE_CGROUP_SOCK_ADDR);
    CHECK(program_type_for_section("xdpfoo") == std::nullopt); // a prefix only counts up to a '/'
    CHECK(program_type_for_section("filter") == std::nullopt);
}

TEST_CASE("loader relocates map references", "[loader]")
{
    ProgramImage image = load_ok("loader_features");
    const ProgramSection &program = *image.program("features");
    std::vector<std::pair<uint8_t, int32_t>> refs;
    for (const auto &insn : program.insns) {
        if (insn.op == isa::Op::LoadImm64 && (insn.pseudo == isa::kMapIdx || insn.pseudo == isa::kMapIdxValue)) {
            refs.emplace_back(insn.pseudo, insn.imm);
            if (insn.pseudo == isa::kMapIdxValue && insn.imm == image.map_index(".rodata")) {
                // the bpf_printk format string sits after `config` in .rodata
                uint32_t offset = static_cast<uint32_t>(insn.imm64 >> 32);
                CHECK((offset == 0 || offset == 4));
            }
        }
    }
    using Ref = std::pair<uint8_t, int32_t>;
    CHECK(std::ranges::count(refs, Ref{isa::kMapIdx, image.map_index("hash")}) == 1);
    CHECK(std::ranges::count(refs, Ref{isa::kMapIdxValue, image.map_index(".data")}) == 1);
    CHECK(std::ranges::count(refs, Ref{isa::kMapIdxValue, image.map_index(".bss")}) == 1);   // in loop_body
    CHECK(std::ranges::count(refs, Ref{isa::kMapIdxValue, image.map_index(".rodata")}) == 2); // printk + add_config
}

TEST_CASE("loader appends each called subprogram once and fixes call offsets", "[loader]")
{
    ProgramImage image = load_ok("loader_features");
    const ProgramSection &xdp = *image.program("features");
    // features + add_config + twice + loop_body: one exit each
    CHECK(count_op(xdp, isa::Op::Exit) == 4);
    auto targets = code_targets(xdp);
    REQUIRE(targets.size() == 4); // add_config twice, twice once, the loop_body address once
    for (size_t target : targets) {
        const isa::Insn &first = xdp.insns[target];
        bool is_add_config = first.op == isa::Op::LoadImm64 && first.pseudo == isa::kMapIdxValue;
        bool is_twice = first.op == isa::Op::Mov && first.src_is_reg;
        bool is_loop_body = first.op == isa::Op::Lsh;
        CHECK((is_add_config || is_twice || is_loop_body));
        CHECK(xdp.insns[target - 1].op == isa::Op::Exit); // lands right after the previous function
    }
    const ProgramSection &tc = *image.program("classifier");
    CHECK(count_op(tc, isa::Op::Exit) == 2); // classifier + twice only
    auto tc_targets = code_targets(tc);
    REQUIRE(tc_targets.size() == 1);
    CHECK(tc.insns[tc_targets[0]].op == isa::Op::Mov);
}

TEST_CASE("loader refuses unsupported objects with the reason", "[loader]")
{
    SECTION("missing file")
    {
        auto image = load_program_image("/nonexistent/x.bpf.o");
        REQUIRE_FALSE(image);
        CHECK(image.error().which == "/nonexistent/x.bpf.o");
        CHECK_THAT(image.error().why, Catch::Contains("cannot open"));
    }
    SECTION("map-in-map")
    {
        auto image = load_program_image(object("loader_map_in_map"));
        REQUIRE_FALSE(image);
        CHECK_THAT(image.error().which, Catch::Contains("map 'outer'"));
        CHECK_THAT(image.error().why, Catch::Contains("unsupported map type"));
    }
    SECTION("extern symbol")
    {
        auto image = load_program_image(object("loader_extern"));
        REQUIRE_FALSE(image);
        CHECK_THAT(image.error().which, Catch::Contains("section 'xdp'"));
        CHECK_THAT(image.error().why, Catch::Contains("unknown symbol 'LINUX_KERNEL_VERSION'"));
    }
}

TEST_CASE("loader reads the DPI program", "[loader][dpi]")
{
    if (!std::filesystem::exists(object("dpi"))) {
        WARN("bpf/dpi.bpf.o not built yet: skipped");
        return;
    }
    ProgramImage image = load_ok("dpi");
    REQUIRE_FALSE(image.programs.empty());
    CHECK(image.programs[0].prog_type == BPF_PROG_TYPE_XDP);
    bool has_lpm = std::ranges::any_of(image.maps, [](const MapSpec &m) {
        return m.info.type == BPF_MAP_TYPE_LPM_TRIE;
    });
    CHECK(has_lpm);
}
