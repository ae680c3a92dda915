// The DPI program on the host target against the shared corpus: every capture replayed
// frame by frame must print exactly its .expect file, on the interpreter and the JIT.
#include "common/dpi_control.hpp"
#include "common/pcap.hpp"
#include "common/replay.hpp"
#include "host-runtime/target/host_target.hpp"

#include <catch2/catch.hpp>

#include <filesystem>

using namespace harmony;

namespace {

const std::string kCorpus = std::string(HARMONY_SHARED_DIR) + "/corpus";
const std::string kDpi = std::string(HARMONY_BPF_DIR) + "/dpi.bpf.o";

std::string mode_name(host::ExecMode mode) { return mode == host::ExecMode::Jit ? "jit" : "interpreter"; }

} // namespace

TEST_CASE("host target replays the corpus as expected", "[host][corpus]")
{
    if (!std::filesystem::exists(kCorpus + "/seed.pcap") || !std::filesystem::exists(kDpi)) {
        WARN("shared corpus or bpf/dpi.bpf.o missing: skipped");
        return;
    }
    auto mode = GENERATE(host::ExecMode::Interpreter, host::ExecMode::Jit);
    auto capture = GENERATE(as<std::string>{}, "seed", "variants", "edge", "bench");
    INFO(mode_name(mode) << " " << capture);

    auto program = host::load(kDpi, mode);
    INFO((program ? std::string() : program.error().message()));
    REQUIRE(program);
    auto applied = dpi::apply_blocklist(**program, kCorpus + "/blocklist.txt");
    INFO((applied ? std::string() : applied.error().message()));
    REQUIRE(applied);

    auto frames = read_pcap(kCorpus + "/" + capture + ".pcap");
    REQUIRE(frames);
    auto expected = read_expect(kCorpus + "/" + capture + ".expect");
    REQUIRE(expected);
    auto actual = replay(**program, *frames);
    INFO((actual ? std::string() : actual.error().message()));
    REQUIRE(actual);
    auto differences = compare_replay(*actual, *expected);
    for (size_t i = 0; i < std::min<size_t>(differences.size(), 10); i++) {
        UNSCOPED_INFO(differences[i]);
    }
    CHECK(differences.empty());

    auto counters = dpi::read_counters(*(*program)->map("counters"));
    REQUIRE(counters);
    CHECK((*counters)[DPI_CNT_PACKETS] == frames->size());
}
