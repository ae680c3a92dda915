// Compiling, installing and replacing databases; per-thread scratch.
#include "database.hpp"

#include <fmt/format.h>

#include <array>
#include <atomic>
#include <charconv>
#include <fstream>
#include <sstream>

namespace harmony::hyperscan {
namespace {

std::atomic<uint64_t> next_serial{1};

/// One slot per database id: a packet thread loads the pointer, a control thread
/// replaces it; the old database lives until its last scan ends.
std::array<std::atomic<std::shared_ptr<const Database>>, kMaxDatabases> &slots()
{
    static std::array<std::atomic<std::shared_ptr<const Database>>, kMaxDatabases> instance;
    return instance;
}

Result<hs_database_t *> compile_mode(const std::vector<Pattern> &patterns, unsigned mode, const std::string &source)
{
    std::vector<const char *> expressions;
    std::vector<unsigned> flags, ids;
    for (const Pattern &p : patterns) {
        expressions.push_back(p.regex.c_str());
        flags.push_back(p.flags);
        ids.push_back(p.id);
    }
    hs_database_t *db = nullptr;
    hs_compile_error_t *error = nullptr;
    hs_error_t rc = hs_compile_multi(expressions.data(), flags.data(), ids.data(),
                                     static_cast<unsigned>(patterns.size()), mode, nullptr, &db, &error);
    if (rc == HS_SUCCESS) {
        return db;
    }
    std::string why = error && error->message ? error->message : fmt::format("hs_compile_multi: error {}", rc);
    std::string which = source;
    if (error && error->expression >= 0 && static_cast<size_t>(error->expression) < patterns.size()) {
        const Pattern &bad = patterns[static_cast<size_t>(error->expression)];
        which = fmt::format("{} line {} (/{}/)", source, bad.line, bad.regex);
    }
    hs_free_compile_error(error);
    return fail("compile", which, why);
}

/// Scratch of this thread; the serials of the last databases it was grown for, so a
/// scan calls hs_alloc_scratch only when it meets a database for the first time.
struct ThreadScratch {
    hs_scratch_t *scratch = nullptr;
    std::array<uint64_t, 8> grown_for{};
    size_t next = 0;

    ~ThreadScratch() { hs_free_scratch(scratch); }
};

Result<std::string> read_file(const std::string &path)
{
    std::ifstream in(path);
    if (!in) {
        return fail("read", path, "cannot open the pattern file");
    }
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
}

} // namespace

Database::~Database()
{
    hs_free_database(block);
    hs_free_database(stream);
}

Result<std::shared_ptr<const Database>> compile(const std::vector<Pattern> &patterns, const std::string &source)
{
    auto db = std::make_shared<Database>();
    auto block = compile_mode(patterns, HS_MODE_BLOCK, source);
    if (!block) {
        return std::unexpected(block.error());
    }
    db->block = *block;
    auto stream = compile_mode(patterns, HS_MODE_STREAM, source);
    if (!stream) {
        return std::unexpected(stream.error());
    }
    db->stream = *stream;
    db->serial = next_serial++;
    return db;
}

std::shared_ptr<const Database> installed(uint32_t db_id)
{
    return db_id < kMaxDatabases ? slots()[db_id].load(std::memory_order_acquire) : nullptr;
}

hs_scratch_t *scratch_for(const Database &db)
{
    thread_local ThreadScratch mine;
    for (uint64_t serial : mine.grown_for) {
        if (serial == db.serial) {
            return mine.scratch;
        }
    }
    if (hs_alloc_scratch(db.block, &mine.scratch) != HS_SUCCESS ||
        hs_alloc_scratch(db.stream, &mine.scratch) != HS_SUCCESS) {
        return nullptr;
    }
    mine.grown_for[mine.next++ % mine.grown_for.size()] = db.serial;
    return mine.scratch;
}

Result<void> install_patterns(uint32_t db_id, std::string_view text, const std::string &source)
{
    if (db_id >= kMaxDatabases) {
        return fail("install", fmt::format("database {}", db_id),
                    fmt::format("ids go from 0 to {}", kMaxDatabases - 1));
    }
    if (auto ok = register_helpers(); !ok) {
        return ok;
    }
    auto patterns = parse_patterns(text, source);
    if (!patterns) {
        return std::unexpected(patterns.error());
    }
    auto db = compile(*patterns, source);
    if (!db) {
        return std::unexpected(db.error());
    }
    slots()[db_id].store(*db, std::memory_order_release);
    return {};
}

Result<void> install_pattern_file(uint32_t db_id, const std::string &path)
{
    auto text = read_file(path);
    if (!text) {
        return std::unexpected(text.error());
    }
    return install_patterns(db_id, *text, path);
}

Result<void> install_pattern_option(const std::string &option)
{
    size_t equals = option.find('=');
    if (equals == std::string::npos) {
        return install_pattern_file(1, option);
    }
    uint32_t db_id = 0;
    auto [end, ec] = std::from_chars(option.data(), option.data() + equals, db_id);
    if (ec != std::errc{} || end != option.data() + equals) {
        return fail("patterns", option, "expected ID=FILE with a numeric database id");
    }
    return install_pattern_file(db_id, option.substr(equals + 1));
}

} // namespace harmony::hyperscan
