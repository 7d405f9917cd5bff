// Resume of an interrupted multipart upload (upload_options::resume, issue 15)
// against the strict in-process S3 server: the second run sends only what the
// server does not hold (its UploadPart count and bytes say so) and the object
// is byte-exact; a changed file starts over and the stale upload is aborted; a
// part the server lost, whose ETag differs, or whose bytes changed in place is
// resent; the journal entry goes with its upload. Also through `hoist serve`.
#include "s3_test_server.hpp"
#include "service_instance.hpp"

#include "hoist/engine/upload.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <random>
#include <regex>

namespace e = hoist::engine;
namespace p = hoist::protocol;
namespace t = hoist::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

std::string random_bytes(std::size_t n, unsigned seed) {
    std::string s(n, '\0');
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < n; i += 8) {
        auto v = rng();
        std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
    }
    return s;
}

struct fixture {
    fixture() {
        server.create_bucket("bucket");
        fs::create_directories(dir);
    }
    ~fixture() { fs::remove_all(dir); }

    t::s3_test_server server;
    fs::path dir = fs::temp_directory_path() / ("hoist-resume-" + std::to_string(::getpid()) + "-" +
                                                std::to_string(counter()++));
    fs::path state = dir / "state";
    static int& counter() {
        static int n = 0;
        return n;
    }

    fs::path write(const std::string& data) {
        auto path = dir / "src.bin";
        std::ofstream(path, std::ios::binary) << data;
        return path;
    }

    e::upload_options options() {
        e::upload_options o;
        o.location = p::locate(p::parse_endpoint(server.endpoint_url()), "bucket", "obj", p::addressing::path);
        o.region = "us-east-1";
        hoist::sigv4::credentials c;
        c.access_key_id = server.config().access_key_id;
        c.secret_access_key = hoist::sigv4::secret_string(server.config().secret);
        o.signer = std::make_shared<hoist::sigv4::signer>(c);
        o.tls.ca_file = server.ca_file();
        o.part_size = 5 * MiB;
        o.spread_small_files = false;
        o.concurrency = 2;
        o.backoff_base = 10ms;
        o.backoff_cap = 100ms;
        o.stall_timeout = 5s;
        o.response_timeout = 10s;
        o.seed = 1;
        o.congestion_control = "cubic";
        o.resume = true;
        o.state_dir = state.string();
        o.keep_on_failure = true;
        return o;
    }

    // Runs an upload that is cancelled once `parts` parts are confirmed; it
    // must fail as cancelled, and (with keep_on_failure) leave its upload open.
    // One part at a time: the cancel comes from the report of the last part
    // confirmed, before the next one starts, so no part is still arriving at
    // the server when the counters are read.
    std::string interrupted(const fs::path& path, e::upload_options o, std::uint32_t parts) {
        o.concurrency = 1;
        e::cancel_token cancel;
        auto on_progress = [&](const e::progress& pr) {
            if (pr.parts_done >= parts) cancel.cancel();
        };
        try {
            e::upload_file(path.string(), o, on_progress, cancel);
        } catch (const e::upload_error& err) {
            BOOST_TEST((err.code() == e::upload_errc::cancelled), err.what());
            BOOST_TEST(err.aborted() == !o.keep_on_failure);
            return err.upload_id();
        }
        BOOST_FAIL("the interrupted upload succeeded");
        return {};
    }

    std::vector<fs::path> journal_files() const {
        std::vector<fs::path> out;
        if (fs::exists(state))
            for (const auto& f : fs::directory_iterator(state)) out.push_back(f.path());
        return out;
    }

    int part_requests() const {
        auto s = server.statistics();
        auto it = s.by_op.find(t::s3_op::upload_part);
        return it == s.by_op.end() ? 0 : it->second;
    }

    std::string server_log() const {
        std::string out;
        for (const auto& line : server.log()) out += "  " + line + "\n";
        return out;
    }
};

// The journal entry's line for part `n`, its ETag replaced (the server now
// holds something else than what this journal saw confirmed).
void falsify_etag(const fs::path& journal, std::uint32_t n) {
    std::ifstream in(journal);
    std::string text, line;
    bool found = false;
    while (std::getline(in, line)) {
        if (line.starts_with("{\"part\":" + std::to_string(n) + ",")) {
            line = std::regex_replace(line, std::regex("\"etag\":\"[^,]*\","), "\"etag\":\"\\\"0000\\\"\",");
            found = true;
        }
        text += line + "\n";
    }
    BOOST_REQUIRE(found);
    std::ofstream(journal, std::ios::trunc) << text;
}

} // namespace

BOOST_AUTO_TEST_CASE(an_interrupted_upload_sends_only_the_missing_parts) {
    fixture f;
    const auto data = random_bytes(40 * MiB, 1);   // 8 parts of 5 MiB
    auto path = f.write(data);
    auto id = f.interrupted(path, f.options(), 4);
    BOOST_REQUIRE(!id.empty());
    BOOST_TEST(f.server.open_uploads().size() == 1u);
    BOOST_REQUIRE(f.journal_files().size() == 1u);
    const auto stored_before = f.server.statistics().part_bytes;
    BOOST_TEST(stored_before == 4 * 5 * MiB);

    const int requests_before = f.part_requests();
    e::upload_result r;
    try {
        r = e::upload_file(path.string(), f.options());
    } catch (const e::upload_error& err) {
        BOOST_FAIL("the resumed upload failed: " << err.what() << "\n" << f.server_log());
    }
    auto stored = f.server.object("bucket", "obj");
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST((*stored == data), "the object differs from the file");
    BOOST_TEST(r.upload_id == id);   // the same upload, continued
    BOOST_TEST(r.parts == 8u);
    BOOST_TEST(r.parts_resumed == 4u);
    BOOST_TEST(r.bytes_resumed == r.parts_resumed * 5 * MiB);
    // The server saw only the rest: parts and bytes.
    const auto sent_again = f.server.statistics().part_bytes - stored_before;
    BOOST_TEST(sent_again == data.size() - r.bytes_resumed);
    BOOST_TEST(sent_again <= 4 * 5 * MiB);
    BOOST_TEST(f.part_requests() - requests_before == static_cast<int>(8 - r.parts_resumed));
    BOOST_TEST(r.resume_note == "");
    BOOST_TEST(f.server.open_uploads().empty());
    BOOST_TEST(f.journal_files().empty(), "a completed upload's journal entry is removed");
}

BOOST_AUTO_TEST_CASE(a_changed_file_starts_over_and_the_stale_upload_is_aborted) {
    fixture f;
    auto path = f.write(random_bytes(30 * MiB, 2));
    auto id = f.interrupted(path, f.options(), 2);
    BOOST_REQUIRE(!id.empty());
    const auto changed = random_bytes(30 * MiB, 3);
    f.write(changed);
    fs::last_write_time(path, fs::last_write_time(path) + 5s);   // a different mtime, whatever the clock's grain
    auto r = e::upload_file(path.string(), f.options());
    BOOST_TEST(r.parts_resumed == 0u);
    BOOST_TEST(r.bytes_resumed == 0u);
    BOOST_TEST(r.upload_id != id);
    BOOST_TEST(r.resume_note.find("changed") != std::string::npos, r.resume_note);
    auto aborted = f.server.aborted_uploads();
    BOOST_TEST((std::find(aborted.begin(), aborted.end(), id) != aborted.end()), "the stale upload was not aborted");
    BOOST_TEST((f.server.object("bucket", "obj") == changed));
    BOOST_TEST(f.server.open_uploads().empty());
    BOOST_TEST(f.journal_files().empty());
}

BOOST_AUTO_TEST_CASE(a_part_the_server_lost_or_whose_etag_differs_is_resent) {
    fixture f;
    const auto data = random_bytes(40 * MiB, 4);
    auto path = f.write(data);
    auto id = f.interrupted(path, f.options(), 4);
    BOOST_REQUIRE(!id.empty());
    BOOST_REQUIRE(f.server.forget_part(id, 1));
    auto journals = f.journal_files();
    BOOST_REQUIRE(journals.size() == 1u);
    falsify_etag(journals.front(), 2);
    const auto log_before = f.server.log().size();
    auto r = e::upload_file(path.string(), f.options());
    BOOST_TEST((f.server.object("bucket", "obj") == data));
    BOOST_TEST(r.upload_id == id);
    BOOST_TEST(r.parts_resumed >= 2u);   // parts 3 and 4 at least
    auto log = f.server.log();
    std::vector<std::string> sent(log.begin() + static_cast<long>(log_before), log.end());
    auto was_sent = [&](std::uint32_t n) {
        auto needle = "UploadPart part=" + std::to_string(n) + " -> 200";
        return std::any_of(sent.begin(), sent.end(), [&](const std::string& l) { return l.find(needle) != std::string::npos; });
    };
    BOOST_TEST(was_sent(1), "the lost part was not sent again");
    BOOST_TEST(was_sent(2), "the part whose ETag differs was not sent again");
    BOOST_TEST(!was_sent(3));
    BOOST_TEST(!was_sent(4));
}

BOOST_AUTO_TEST_CASE(bytes_changed_in_place_with_the_same_mtime_are_resent) {
    fixture f;
    auto data = random_bytes(30 * MiB, 5);
    auto path = f.write(data);
    auto id = f.interrupted(path, f.options(), 3);
    BOOST_REQUIRE(!id.empty());
    // Part 1 rewritten in place, size and mtime put back (rsync -t, a careless tool):
    // the identity matches, the part's checksum does not.
    const auto mtime = fs::last_write_time(path);
    data[100] = static_cast<char>(data[100] ^ 0x5a);
    {
        std::fstream out(path, std::ios::in | std::ios::out | std::ios::binary);
        out.seekp(100);
        out.put(data[100]);
    }
    fs::last_write_time(path, mtime);
    auto r = e::upload_file(path.string(), f.options());
    BOOST_TEST((f.server.object("bucket", "obj") == data), "the stale part 1 was kept");
    BOOST_TEST(r.upload_id == id);
    BOOST_TEST(r.parts_resumed >= 2u);
}

BOOST_AUTO_TEST_CASE(an_aborted_upload_leaves_no_entry_and_resume_off_writes_none) {
    fixture f;
    auto path = f.write(random_bytes(20 * MiB, 6));
    auto o = f.options();
    o.keep_on_failure = false;
    f.interrupted(path, o, 1);
    BOOST_TEST(f.server.aborted_uploads().size() == 1u);
    BOOST_TEST(f.journal_files().empty(), "an aborted upload's journal entry is removed");

    o = f.options();
    o.resume = false;
    f.interrupted(path, o, 1);
    BOOST_TEST(f.journal_files().empty(), "resume off writes no journal");
    // ... and does not resume either: a new upload.
    auto r = e::upload_file(path.string(), o);
    BOOST_TEST(r.parts_resumed == 0u);
}

BOOST_AUTO_TEST_CASE(an_upload_through_a_service_resumes) {
    fixture f;
    t::service_instance svc(f.server);
    const auto data = random_bytes(30 * MiB, 7);   // 6 parts of the service's 5 MiB
    auto path = f.write(data);
    auto o = f.options();
    o.via = e::via_service{p::parse_endpoint(svc.url()), hoist::sigv4::secret_string(t::alice_token), "src.bin"};
    auto id = f.interrupted(path, o, 3);
    BOOST_REQUIRE(!id.empty());
    const auto stored_before = f.server.statistics().part_bytes;
    e::upload_result r;
    try {
        r = e::upload_file(path.string(), o);
    } catch (const e::upload_error& err) {
        BOOST_FAIL("the resumed upload failed: " << err.what() << "\n" << f.server_log());
    }
    BOOST_TEST(r.upload_id == id);
    BOOST_TEST(r.parts_resumed >= 3u);
    BOOST_TEST(f.server.statistics().part_bytes - stored_before == data.size() - r.bytes_resumed);
    BOOST_TEST((f.server.object("bucket", r.key) == data));
    BOOST_TEST(f.journal_files().empty());
}
