#include "commands.hpp"

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
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError &e) {
        return app.exit(e);
    }
    return 0;
}
