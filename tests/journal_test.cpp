// The resume journal (engine/src/upload/journal.hpp): its line format, a torn
// or corrupt file, the decisions (same file or not, which parts are kept,
// which resent, when to start over), and the entry's lock between processes.
#include "journal.hpp"

#include "hoist/engine/upload.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace d = hoist::engine::detail;
namespace p = hoist::protocol;
namespace fs = std::filesystem;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;
const std::string entry = d::entry_identity("s3\nhttps://127.0.0.1:9000\nbucket\nkey", "/data/big.bin");
const d::file_identity file{23 * MiB, 1'700'000'000'123'456'789, 4242, 2049};

d::journal_header header(std::uint64_t part_size = 5 * MiB) {
    return {entry, "upload-1", "key", "", part_size, "crc32c", file};
}

d::journal_part part(std::uint32_t n, std::uint64_t size = 5 * MiB) {
    return {n, "\"etag-" + std::to_string(n) + "\"", "crc-" + std::to_string(n), size};
}

// What the server lists for part n, as the journal's part says.
p::part_info listed(const d::journal_part& j) { return {j.number, j.etag, j.size, "", j.checksum}; }

std::string journal_text(std::initializer_list<std::uint32_t> parts) {
    std::string text = d::render_header(header());
    for (auto n : parts) text += d::render_part(part(n, n == 5 ? 3 * MiB : 5 * MiB));
    return text;
}

const p::part_plan plan = p::plan_parts(23 * MiB, 5 * MiB);   // 4 x 5 MiB + 3 MiB

} // namespace

BOOST_AUTO_TEST_SUITE(journal_format)

BOOST_AUTO_TEST_CASE(header_and_parts_round_trip) {
    auto h = header();
    h.s3_key = "uploads/alice/a \"b\"\n.bin";   // quotes and newlines survive the JSON
    h.upload_token = "v1.tok";
    auto state = d::parse_journal(d::render_header(h) + d::render_part(part(2)) + d::render_part(part(1)));
    BOOST_REQUIRE(state.header.has_value());
    BOOST_TEST(state.header->upload_id == "upload-1");
    BOOST_TEST(state.header->s3_key == h.s3_key);
    BOOST_TEST(state.header->upload_token == "v1.tok");
    BOOST_TEST(state.header->part_size == 5 * MiB);
    BOOST_TEST((state.header->file == file));
    BOOST_TEST(state.header->entry == entry);
    BOOST_REQUIRE(state.parts.size() == 2u);
    BOOST_TEST(state.parts.at(2).etag == "\"etag-2\"");
    BOOST_TEST(state.parts.at(1).checksum == "crc-1");
    BOOST_TEST(state.ignored_lines == 0u);
}

BOOST_AUTO_TEST_CASE(a_torn_last_line_is_ignored_and_cut) {
    auto text = journal_text({1, 2});
    auto full = text.size();
    auto torn = d::render_part(part(3));
    text += torn.substr(0, torn.size() / 2);   // the crash came mid-write
    auto state = d::parse_journal(text);
    BOOST_REQUIRE(state.header.has_value());
    BOOST_TEST(state.parts.size() == 2u);
    BOOST_TEST(!state.parts.contains(3));
    BOOST_TEST(state.ignored_lines == 1u);
    BOOST_TEST(state.valid_bytes == full);   // what load() truncates the file to
}

BOOST_AUTO_TEST_CASE(a_corrupt_part_line_is_skipped_the_others_count) {
    auto text = d::render_header(header()) + d::render_part(part(1)) + "{\"part\":2,\"etag\":\x01garbage\n" +
                "{\"part\":0,\"etag\":\"x\",\"checksum\":\"\",\"size\":1}\n" + d::render_part(part(3));
    auto state = d::parse_journal(text);
    BOOST_REQUIRE(state.header.has_value());
    BOOST_TEST(state.parts.size() == 2u);
    BOOST_TEST(state.parts.contains(1));
    BOOST_TEST(state.parts.contains(3));
    BOOST_TEST(state.ignored_lines == 2u);
}

BOOST_AUTO_TEST_CASE(a_corrupt_header_makes_the_file_unusable) {
    for (std::string first : {std::string("\0\0\0\0\n", 5), std::string("not json\n"),
                              std::string("{\"hoist_journal\":2,\"upload_id\":\"x\"}\n"),
                              std::string("{\"hoist_journal\":1,\"upload_id\":\"\"}\n")}) {
        auto state = d::parse_journal(first + d::render_part(part(1)));
        BOOST_TEST(!state.header.has_value());
        BOOST_TEST(state.parts.empty());
        auto match = d::match_journal(state, entry, file, 5 * MiB, "crc32c");
        BOOST_TEST(!match.resume);
        BOOST_TEST(match.stale_upload_id.empty());   // unknown: nothing to abort
    }
    BOOST_TEST(!d::parse_journal("").header.has_value());
}

BOOST_AUTO_TEST_CASE(entry_names_and_state_dir) {
    auto a = d::entry_file_name(d::entry_identity("s3\nhttps://h\nb\nk", "/x"));
    auto b = d::entry_file_name(d::entry_identity("s3\nhttps://h\nb\nk", "/y"));
    BOOST_TEST(a != b);
    BOOST_TEST(a.size() == 64u + 8u);
    BOOST_TEST(a.ends_with(".journal"));
    auto env = [](std::map<std::string, std::string> vars) {
        return [vars](const std::string& name) -> std::optional<std::string> {
            auto it = vars.find(name);
            return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
        };
    };
    const std::string tmp = fs::temp_directory_path().string();
    BOOST_TEST(hoist::engine::default_state_dir(env({{"XDG_STATE_HOME", tmp + "/s"}, {"HOME", "/h"}})) ==
               tmp + "/s/hoist/uploads");
    BOOST_TEST(hoist::engine::default_state_dir(env({{"XDG_STATE_HOME", "rel"}, {"HOME", tmp}})) ==
               tmp + "/.local/state/hoist/uploads");
    // Nothing is created from the root up: a base that does not exist means no journal.
    BOOST_TEST(hoist::engine::default_state_dir(env({{"HOME", "/nonexistent"}})) == "");
    BOOST_TEST(hoist::engine::default_state_dir(env({{"XDG_STATE_HOME", "/nonexistent/state"}})) == "");
    BOOST_TEST(hoist::engine::default_state_dir(env({})) == "");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(journal_decisions)

BOOST_AUTO_TEST_CASE(no_journal_creates_a_new_upload) {
    auto match = d::match_journal({}, entry, file, 5 * MiB, "crc32c");
    BOOST_TEST(!match.resume);
    BOOST_TEST(match.stale_upload_id.empty());
    BOOST_TEST(match.reason.empty());
}

BOOST_AUTO_TEST_CASE(the_same_file_resumes) {
    auto match = d::match_journal(d::parse_journal(journal_text({1})), entry, file, 5 * MiB, "crc32c");
    BOOST_TEST(match.resume);
    BOOST_TEST(match.stale_upload_id.empty());
}

BOOST_AUTO_TEST_CASE(a_changed_file_starts_over_and_aborts_the_old_upload) {
    auto journal = d::parse_journal(journal_text({1, 2}));
    for (auto changed : {d::file_identity{file.size + 1, file.mtime_ns, file.inode, file.device},
                         d::file_identity{file.size, file.mtime_ns + 1, file.inode, file.device},
                         d::file_identity{file.size, file.mtime_ns, file.inode + 1, file.device},
                         d::file_identity{file.size, file.mtime_ns, file.inode, file.device + 1}}) {
        auto match = d::match_journal(journal, entry, changed, 5 * MiB, "crc32c");
        BOOST_TEST(!match.resume);
        BOOST_TEST(match.stale_upload_id == "upload-1");
        BOOST_TEST(match.reason.find("changed") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(a_mismatched_part_size_or_checksum_starts_over) {
    auto journal = d::parse_journal(journal_text({1, 2}));
    auto by_size = d::match_journal(journal, entry, file, 8 * MiB, "crc32c");
    BOOST_TEST(!by_size.resume);
    BOOST_TEST(by_size.stale_upload_id == "upload-1");
    BOOST_TEST(by_size.reason.find("part size") != std::string::npos);
    auto by_checksum = d::match_journal(journal, entry, file, 5 * MiB, "md5");
    BOOST_TEST(!by_checksum.resume);
    BOOST_TEST(by_checksum.stale_upload_id == "upload-1");
    // Through a service the part size is the service's: the journal's is taken.
    BOOST_TEST(d::match_journal(journal, entry, file, std::nullopt, "crc32c").resume);
}

BOOST_AUTO_TEST_CASE(another_entrys_journal_is_not_aborted) {
    auto journal = d::parse_journal(journal_text({1}));
    auto match = d::match_journal(journal, d::entry_identity("s3\nhttps://other\nb\nk", "/data/big.bin"), file,
                                  5 * MiB, "crc32c");
    BOOST_TEST(!match.resume);
    BOOST_TEST(match.stale_upload_id.empty());
}

BOOST_AUTO_TEST_CASE(parts_confirmed_by_journal_and_server_are_kept) {
    auto journal = d::parse_journal(journal_text({1, 2, 4}));
    std::vector<p::part_info> server{listed(part(1)), listed(part(2)), listed(part(4))};
    auto decision = d::decide_resume(journal, plan, server);
    BOOST_TEST(!decision.start_over);
    BOOST_TEST(decision.keep.size() == 3u);
    BOOST_TEST((decision.resend == std::vector<std::uint32_t>{3, 5}));
}

BOOST_AUTO_TEST_CASE(a_part_the_server_lost_is_resent) {
    auto journal = d::parse_journal(journal_text({1, 2, 3}));
    std::vector<p::part_info> server{listed(part(1)), listed(part(3))};
    auto decision = d::decide_resume(journal, plan, server);
    BOOST_TEST(decision.keep.size() == 2u);
    BOOST_TEST((decision.resend == std::vector<std::uint32_t>{2, 4, 5}));
}

BOOST_AUTO_TEST_CASE(an_etag_or_checksum_or_size_mismatch_is_resent) {
    auto journal = d::parse_journal(journal_text({1, 2, 3, 4}));
    auto other_etag = listed(part(1));
    other_etag.etag = "\"someone-elses\"";
    auto other_crc = listed(part(2));
    other_crc.checksum_crc32c = "crc-x";
    auto other_size = listed(part(3));
    other_size.size = 5 * MiB - 1;
    auto unquoted = listed(part(4));
    unquoted.etag = "etag-4";   // some stores list ETags without quotes: the same ETag
    auto decision = d::decide_resume(journal, plan, std::vector<p::part_info>{other_etag, other_crc, other_size, unquoted});
    BOOST_TEST(decision.keep.size() == 1u);
    BOOST_TEST(decision.keep.contains(4));
    BOOST_TEST((decision.resend == std::vector<std::uint32_t>{1, 2, 3, 5}));
}

BOOST_AUTO_TEST_CASE(parts_the_journal_does_not_know_are_resent) {
    // Stored after the last journal line was written (a crash between the two),
    // or by someone else: their content is not known to be this file's.
    auto journal = d::parse_journal(journal_text({1}));
    std::vector<p::part_info> server{listed(part(1)), listed(part(2)), listed(part(3)), {9, "\"x\"", 5 * MiB, "", ""}};
    auto decision = d::decide_resume(journal, plan, server);
    BOOST_TEST(decision.keep.size() == 1u);
    BOOST_TEST((decision.resend == std::vector<std::uint32_t>{2, 3, 4, 5}));
}

BOOST_AUTO_TEST_CASE(an_upload_the_server_no_longer_has_starts_over) {
    auto journal = d::parse_journal(journal_text({1, 2}));
    auto decision = d::decide_resume(journal, plan, std::nullopt);   // NoSuchUpload
    BOOST_TEST(decision.start_over);
    BOOST_TEST(decision.keep.empty());
}

BOOST_AUTO_TEST_CASE(the_last_part_keeps_its_own_size) {
    auto journal = d::parse_journal(journal_text({5}));
    auto decision = d::decide_resume(journal, plan, std::vector<p::part_info>{listed(part(5, 3 * MiB))});
    BOOST_TEST(decision.keep.contains(5));
    BOOST_TEST((decision.resend == std::vector<std::uint32_t>{1, 2, 3, 4}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(journal_file_io)

struct temp_dir {
    fs::path path = fs::temp_directory_path() / ("hoist-journal-" + std::to_string(::getpid()));
    temp_dir() { fs::remove_all(path); }
    ~temp_dir() { fs::remove_all(path); }
};

BOOST_AUTO_TEST_CASE(start_record_load_remove) {
    temp_dir dir;
    const auto state_dir = (dir.path / "state").string();
    {
        auto j = d::journal_file::open(state_dir, entry);
        BOOST_REQUIRE(j.has_value());
        BOOST_TEST(!j->load().header.has_value());
        j->start(header());
        j->record(part(1));
        j->record(part(2));
        BOOST_TEST(((fs::status(state_dir).permissions() & fs::perms::all) == fs::perms::owner_all));
        BOOST_TEST(((fs::status(j->path()).permissions() & fs::perms::all) ==
                    (fs::perms::owner_read | fs::perms::owner_write)));
    }
    auto j = d::journal_file::open(state_dir, entry);
    BOOST_REQUIRE(j.has_value());
    auto state = j->load();
    BOOST_REQUIRE(state.header.has_value());
    BOOST_TEST(state.parts.size() == 2u);
    const auto path = j->path();
    j->remove();
    BOOST_TEST(!fs::exists(path));
}

BOOST_AUTO_TEST_CASE(a_torn_tail_is_cut_before_the_next_append) {
    temp_dir dir;
    const auto state_dir = (dir.path / "state").string();
    std::string path;
    {
        auto j = d::journal_file::open(state_dir, entry);
        BOOST_REQUIRE(j.has_value());
        j->start(header());
        j->record(part(1));
        path = j->path();
    }
    std::ofstream(path, std::ios::app) << "{\"part\":2,\"et";   // killed mid-write
    {
        auto j = d::journal_file::open(state_dir, entry);
        BOOST_REQUIRE(j.has_value());
        auto state = j->load();
        BOOST_TEST(state.ignored_lines == 1u);
        j->record(part(3));
    }
    auto j = d::journal_file::open(state_dir, entry);
    BOOST_REQUIRE(j.has_value());
    auto state = j->load();
    BOOST_TEST(state.ignored_lines == 0u);
    BOOST_TEST(state.parts.contains(1));
    BOOST_TEST(state.parts.contains(3));
}

BOOST_AUTO_TEST_CASE(a_second_process_gets_no_entry_while_one_holds_it) {
    temp_dir dir;
    const auto state_dir = (dir.path / "state").string();
    auto held = d::journal_file::open(state_dir, entry);
    BOOST_REQUIRE(held.has_value());
    // flock(2) locks belong to the open file description: a second open of
    // the entry conflicts as another hoist process would (no child process
    // needed, the "unit" label allows none).
    std::string why;
    auto second = d::journal_file::open(state_dir, entry, &why);
    BOOST_TEST(!second.has_value());
    BOOST_TEST(why.find("another hoist") != std::string::npos, why);
    // Another entry is not affected.
    BOOST_TEST(d::journal_file::open(state_dir, d::entry_identity("s3\nx\nb\nk", "/other")).has_value());
    held.reset();
    BOOST_TEST(d::journal_file::open(state_dir, entry).has_value());
}

BOOST_AUTO_TEST_SUITE_END()
