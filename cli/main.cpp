#include "commands.hpp"

#include "helpers/hyperscan/hyperscan.hpp"

#include <fmt/format.h>

namespace harmony::cli {

void fail_command(const std::string &message, int status)
{
    fmt::print(stderr, "harmony: {}\n", message);
    throw CLI::RuntimeError(status);
}

} // namespace harmony::cli

int main(int argc, char **argv)
{
    CLI::App app{"harmony: one BPF network service, compiled once, run on every fast path of this host"};
    app.require_subcommand(1);
    app.footer("Run 'harmony COMMAND --help' for a command's options and examples.");
    harmony::cli::add_replay_command(app);
    harmony::cli::add_probe_command(app);
    harmony::cli::add_place_command(app);
    harmony::cli::add_run_command(app);
    harmony::cli::add_verify_command(app);
    harmony::cli::add_bench_command(app);
    harmony::cli::add_map_command(app);
    harmony::cli::add_demo_command(app);
    // Harmony helpers exist before any command verifies, places or loads a program calling them;
    // where Hyperscan cannot run (no SSSE3) they stay absent and placement says so.
    (void)harmony::hyperscan::register_helpers();
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e);
    }
    return 0;
}
