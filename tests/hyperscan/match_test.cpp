// hs_match: first matching id, none, errors; databases replaced while another thread matches;
// the helper as the VM calls it and as the verifier sees it.
#include "helpers/hyperscan/hyperscan.hpp"
#include "tests/support/bytes.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cerrno>
#include <thread>

using namespace harmony;
using harmony::test::bytes;

TEST_CASE("hs_match returns the id of the first match, 0 for none, -ENOENT without a database", "[hyperscan]")
{
    REQUIRE(hyperscan::install_patterns(4, "5:/world/\n6:/hel+o/\n", "inline").has_value());
    CHECK(hyperscan::match(4, bytes("hello world")) == 6); // ends first
    CHECK(hyperscan::match(4, bytes("the world, hello")) == 5);
    CHECK(hyperscan::match(4, bytes("goodbye")) == 0);
    CHECK(hyperscan::match(4, bytes("")) == 0);
    CHECK(hyperscan::match(40, bytes("hello")) == -ENOENT);
    CHECK(hyperscan::match(1000, bytes("hello")) == -ENOENT);
}

TEST_CASE("the helpers are registered once with the prototypes the verifier checks", "[hyperscan]")
{
    REQUIRE(hyperscan::register_helpers().has_value());
    REQUIRE(hyperscan::register_helpers().has_value()); // idempotent
    const helpers::Helper *hs = helpers::find_helper(hyperscan::kHsMatch);
    REQUIRE(hs);
    CHECK(hs->proto.name == "hs_match");
    CHECK(hs->proto.args[0] == helpers::Arg::Scalar);
    CHECK(hs->proto.args[1] == helpers::Arg::Mem);
    CHECK(hs->proto.args[2] == helpers::Arg::SizeOrZero);
    REQUIRE(helpers::find_helper(hyperscan::kHsMatchStream));
    REQUIRE(helpers::find_helper(hyperscan::kHsStreamClose));

    // Called as the interpreter and the JIT call it: r1..r5.
    REQUIRE(hyperscan::install_patterns(4, "5:/world/\n", "inline").has_value());
    std::string text = "hello world";
    uint64_t r0 = hs->fn(4, reinterpret_cast<uint64_t>(text.data()), text.size(), 0, 0);
    CHECK(r0 == 5);
    r0 = hs->fn(41, reinterpret_cast<uint64_t>(text.data()), text.size(), 0, 0);
    CHECK(static_cast<int64_t>(r0) == -ENOENT);
}

TEST_CASE("a database replaced while another thread matches: every scan sees the old or the new one",
          "[hyperscan][replace]")
{
    REQUIRE(hyperscan::install_patterns(5, "1:/needle/\n", "old").has_value());
    std::atomic<bool> stop{false};
    std::atomic<int> scans{0}, seen_old{0}, seen_new{0}, bad{0};
    std::thread matcher([&] {
        while (!stop) {
            int64_t id = hyperscan::match(5, bytes("hay hay needle hay"));
            id == 1 ? seen_old++ : id == 2 ? seen_new++ : bad++;
            scans++;
        }
    });
    for (int i = 0; i < 100; i++) {
        // The new database is bigger: the matching thread's scratch must grow for it.
        std::string text = i % 2 ? "1:/needle/\n" : "2:/need+le/\n3:/[a-z]{3,}[0-9]+x/\n4:/(hay ){4}/";
        REQUIRE(hyperscan::install_patterns(5, text, "replacement").has_value());
        // Let the matcher scan at least once with each database (bounded: never hang the suite).
        int before = scans;
        auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
        while (scans == before && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::yield();
        }
    }
    stop = true;
    matcher.join();
    CHECK(bad == 0);
    CHECK(seen_old > 0);
    CHECK(seen_new > 0);
}
