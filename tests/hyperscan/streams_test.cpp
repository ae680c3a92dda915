// Streams: a pattern split across segments is found; a stream is freed when closed or aged out.
#include "helpers/hyperscan/hyperscan.hpp"
#include "tests/support/bytes.hpp"

#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <thread>
#include <vector>

using namespace harmony;
using harmony::test::bytes;

TEST_CASE("a pattern split across segments is found by the connection's stream", "[hyperscan][streams]")
{
    REQUIRE(hyperscan::install_patterns(6, "7:/User-Agent: [^\\r\\n]*sqlmap/i\n", "inline").has_value());
    hyperscan::close_all_streams();
    CHECK(hyperscan::match_stream(6, bytes("conn-a"), bytes("GET / HTTP/1.1\r\nUser-Agent: sql")) == 0);
    CHECK(hyperscan::match_stream(6, bytes("conn-b"), bytes("GET / HTTP/1.1\r\nUser-Agent: sql")) == 0);
    CHECK(hyperscan::open_streams() == 2);
    CHECK(hyperscan::match_stream(6, bytes("conn-a"), bytes("map/1.0\r\n")) == 7);
    CHECK(hyperscan::match_stream(6, bytes("conn-a"), bytes("more")) == 7); // decided
    CHECK(hyperscan::match_stream(6, bytes("conn-b"), bytes("ite\r\n")) == 0);
    // Block mode sees one segment only.
    CHECK(hyperscan::match(6, bytes("map/1.0\r\n")) == 0);
    CHECK(hyperscan::match_stream(7, bytes("conn-a"), bytes("x")) == -ENOENT);
    hyperscan::close_all_streams();
}

TEST_CASE("closing a stream frees it: later bytes start a new stream", "[hyperscan][streams]")
{
    REQUIRE(hyperscan::install_patterns(6, "7:/abcdef/\n", "inline").has_value());
    hyperscan::close_all_streams();
    CHECK(hyperscan::match_stream(6, bytes("k"), bytes("abc")) == 0);
    CHECK(hyperscan::close_stream(6, bytes("k")) == 0);
    CHECK(hyperscan::open_streams() == 0);
    CHECK(hyperscan::close_stream(6, bytes("k")) == -ENOENT);
    CHECK(hyperscan::match_stream(6, bytes("k"), bytes("def")) == 0);
    CHECK(hyperscan::open_streams() == 1);
    hyperscan::close_all_streams();
}

TEST_CASE("streams unused for longer than the maximum age are freed", "[hyperscan][streams]")
{
    REQUIRE(hyperscan::install_patterns(6, "7:/abcdef/\n", "inline").has_value());
    hyperscan::close_all_streams();
    hyperscan::set_stream_max_age(std::chrono::milliseconds(50));
    CHECK(hyperscan::match_stream(6, bytes("old"), bytes("abc")) == 0);
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    CHECK(hyperscan::match_stream(6, bytes("young"), bytes("abc")) == 0); // sweeps as it opens
    CHECK(hyperscan::open_streams() == 1);
    CHECK(hyperscan::match_stream(6, bytes("old"), bytes("def")) == 0); // a new stream: "abc" is gone
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    CHECK(hyperscan::expire_streams() == 2);
    CHECK(hyperscan::open_streams() == 0);
    hyperscan::set_stream_max_age(std::chrono::seconds(120));
}

TEST_CASE("a stream keeps the database it was opened on when the database is replaced", "[hyperscan][streams]")
{
    REQUIRE(hyperscan::install_patterns(6, "7:/abcdef/\n", "first").has_value());
    hyperscan::close_all_streams();
    CHECK(hyperscan::match_stream(6, bytes("k"), bytes("abc")) == 0);
    REQUIRE(hyperscan::install_patterns(6, "8:/xyz/\n", "second").has_value());
    CHECK(hyperscan::match_stream(6, bytes("k"), bytes("def")) == 7);
    CHECK(hyperscan::match_stream(6, bytes("k2"), bytes("abcdef xyz")) == 8);
    hyperscan::close_all_streams();
}

TEST_CASE("threads on their own connections find every split pattern while streams are closed and swept",
          "[hyperscan][streams][threads]")
{
    REQUIRE(hyperscan::install_patterns(6, "7:/abcdef/\n", "inline").has_value());
    hyperscan::close_all_streams();
    constexpr int kThreads = 4;
    constexpr int kConnections = 400;
    std::vector<int> found(kThreads, 0);
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; t++) {
        threads.emplace_back([t, &found] {
            for (int c = 0; c < kConnections; c++) {
                std::string key = "thread-" + std::to_string(t) + "-conn-" + std::to_string(c);
                bool split_found = hyperscan::match_stream(6, bytes(key), bytes("xxabc")) == 0 &&
                                   hyperscan::match_stream(6, bytes(key), bytes("de")) == 0 &&
                                   hyperscan::match_stream(6, bytes(key), bytes("fyy")) == 7;
                found[t] += split_found ? 1 : 0;
                if (c % 2 == 0) {
                    found[t] += hyperscan::close_stream(6, bytes(key)) == 0 ? 0 : 1000000; // fails the count
                }
                if (c % 50 == 0) {
                    hyperscan::expire_streams(); // nothing is old: sweeps every shard, frees none
                    (void)hyperscan::open_streams();
                }
            }
        });
    }
    for (std::thread &thread : threads) {
        thread.join();
    }
    for (int t = 0; t < kThreads; t++) {
        INFO("thread " << t);
        CHECK(found[t] == kConnections);
    }
    CHECK(hyperscan::open_streams() == kThreads * kConnections / 2);
    hyperscan::close_all_streams();
    CHECK(hyperscan::open_streams() == 0);
}
