// `hoist cp` with many files (--recursive, several sources, --files-from,
// --include/--exclude, --shard, --fail-fast) through the real binary against
// the strict in-process server: every object byte-exact under the key aws-cli
// would give it, a failed file does not stop the others, and the exit code,
// stderr and the JSON lines say what happened.
#include "process.hpp"
#include "s3_test_server.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <signal.h>

#include <filesystem>
#include <future>
#include <thread>
#include <fstream>
#include <random>
#include <set>
#include <sstream>

namespace t = hoist::test;
namespace fs = std::filesystem;

namespace {

struct fixture {
    t::s3_test_server server;
    fs::path root = fs::temp_directory_path() / ("hoist-cli-bulk-" + std::to_string(::getpid()));
    fs::path src = root / "src";
    std::map<std::string, std::string> files;   // relative path -> content

    fixture() {
        server.create_bucket("bkt");
        fs::remove_all(root);
        fs::create_directories(src);
        std::mt19937 rng(7);
        auto add = [&](const std::string& rel, std::size_t size) {
            std::string data(size, '\0');
            for (auto& c : data) c = static_cast<char>(rng());
            fs::create_directories((src / rel).parent_path());
            std::ofstream(src / rel, std::ios::binary) << data;
            files[rel] = data;
        };
        for (int d = 0; d < 3; ++d)
            for (int f = 0; f < 8; ++f) add("d" + std::to_string(d) + "/f" + std::to_string(f) + ".bin", 1000 + 37 * f);
        add("logs/a.log", 10);
        add("logs/deep/b.log", 0);
        add("name with spaces & ü.txt", 300);
        add("big.bin", 9 * 1024 * 1024 + 5);   // a multipart upload (above 8 MiB) among the small ones
    }
    ~fixture() { fs::remove_all(root); }

    t::process_result hoist(std::vector<std::string> args, const std::string& stdin_data = {}) {
        args.insert(args.begin(), {HOIST_BINARY, "cp"});
        args.insert(args.end(), {"--endpoint-url", server.endpoint_url(), "--ca-bundle", server.ca_file()});
        return t::run_process(args,
                              {{"AWS_ACCESS_KEY_ID", server.config().access_key_id},
                               {"AWS_SECRET_ACCESS_KEY", server.config().secret},
                               {"HOME", "/nonexistent"}},
                              120, stdin_data);
    }
    t::process_result sync(std::vector<std::string> args) {
        args.insert(args.begin(), {HOIST_BINARY, "sync"});
        args.insert(args.end(), {"--endpoint-url", server.endpoint_url(), "--ca-bundle", server.ca_file()});
        return t::run_process(args,
                              {{"AWS_ACCESS_KEY_ID", server.config().access_key_id},
                               {"AWS_SECRET_ACCESS_KEY", server.config().secret},
                               {"HOME", "/nonexistent"}},
                              120);
    }
    int puts() const {
        auto s = server.statistics();
        auto count = [&](t::s3_op op) { return s.by_op.count(op) ? s.by_op.at(op) : 0; };
        return count(t::s3_op::put_object) + count(t::s3_op::complete);
    }
};

std::vector<boost::json::object> json_lines(const std::string& out) {
    std::vector<boost::json::object> lines;
    std::istringstream in(out);
    std::string line;
    while (std::getline(in, line))
        if (!line.empty()) lines.push_back(boost::json::parse(line).as_object());
    return lines;
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_bulk)

BOOST_AUTO_TEST_CASE(recursive_uploads_every_file_under_its_key) {
    fixture f;
    auto r = f.hoist({"--recursive", f.src.string(), "s3://bkt/pre", "--json", "--transfers", "4"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
    for (const auto& [rel, data] : f.files) {
        auto stored = f.server.object("bkt", "pre/" + rel);
        BOOST_TEST_REQUIRE(stored.has_value(), rel);
        BOOST_TEST((*stored == data), rel);
    }
    auto lines = json_lines(r.out);
    BOOST_TEST_REQUIRE(lines.size() == f.files.size() + 1);
    std::set<std::string> keys;
    for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
        keys.insert(std::string(lines[i].at("key").as_string()));
        BOOST_TEST(!lines[i].contains("error"));
    }
    BOOST_TEST(keys.size() == f.files.size());
    BOOST_TEST(keys.count("pre/big.bin") == 1u);
    const auto& summary = lines.back();
    BOOST_TEST(summary.at("summary").as_bool());
    BOOST_TEST(summary.at("uploaded").as_int64() == static_cast<std::int64_t>(f.files.size()));
    BOOST_TEST(summary.at("failed").as_int64() == 0);
    BOOST_TEST(f.server.open_uploads().empty());
    // The server echoed every PutObject's CRC32C: no HeadObject after them,
    // only after the one multipart upload.
    auto stats = f.server.statistics();
    BOOST_TEST(stats.by_op[t::s3_op::head_object] == 1);
    BOOST_TEST(stats.by_op[t::s3_op::put_object] == static_cast<int>(f.files.size() - 1));
}

BOOST_AUTO_TEST_CASE(filters_apply_in_command_line_order) {
    fixture f;
    auto r = f.hoist({"-r", f.src.string(), "s3://bkt/", "--exclude", "*", "--include", "*.log", "--quiet"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
    BOOST_TEST(f.puts() == 2);
    BOOST_TEST(f.server.object("bkt", "logs/a.log").has_value());
    BOOST_TEST(f.server.object("bkt", "logs/deep/b.log").has_value());
    // The other order: the last rule (exclude everything) wins.
    auto none = f.hoist({"-r", f.src.string(), "s3://bkt/x/", "--include", "*.log", "--exclude", "*", "--quiet"});
    BOOST_TEST(none.exit_code == 0, "stderr: " << none.err);
    BOOST_TEST(f.puts() == 2);
}

BOOST_AUTO_TEST_CASE(shards_together_upload_each_file_once) {
    fixture f;
    int before = 0;
    std::set<std::string> seen;
    for (int k = 0; k < 3; ++k) {
        auto r = f.hoist({"-r", f.src.string(), "s3://bkt/s/", "--shard", std::to_string(k) + "/3", "--json"});
        BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
        auto lines = json_lines(r.out);
        for (std::size_t i = 0; i + 1 < lines.size(); ++i) {
            std::string key(lines[i].at("key").as_string());
            BOOST_TEST(seen.insert(key).second, key << " uploaded by two shards");
        }
        BOOST_TEST(f.puts() - before == static_cast<int>(lines.size() - 1));
        BOOST_TEST(lines.size() - 1 < f.files.size());   // a share, not everything
        before = f.puts();
    }
    BOOST_TEST(seen.size() == f.files.size());
}

BOOST_AUTO_TEST_CASE(files_from_a_list_and_bad_lines_fail_alone) {
    fixture f;
    auto list = f.root / "list.txt";
    std::ofstream(list) << "# a comment\n"
                        << "d0/f1.bin\n"
                        << "\n"
                        << (f.src / "d1/f2.bin").string() << "\n"   // absolute, under the root
                        << "../escape.bin\n"
                        << "missing.bin\n";
    auto r = f.hoist({"--files-from", list.string(), f.src.string(), "s3://bkt/l/", "--json"});
    BOOST_TEST(r.exit_code == 1, "stderr: " << r.err);
    BOOST_TEST(*f.server.object("bkt", "l/d0/f1.bin") == f.files["d0/f1.bin"]);
    BOOST_TEST(*f.server.object("bkt", "l/d1/f2.bin") == f.files["d1/f2.bin"]);
    BOOST_TEST(f.puts() == 2);
    BOOST_TEST(r.err.find("../escape.bin") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("missing.bin") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("2 FAILED") != std::string::npos, r.err);

    // NUL-separated, from stdin.
    std::string nul_list = std::string("d2/f3.bin") + '\0' + "logs/a.log" + '\0';
    auto n = f.hoist({"--files-from", "-", "--null", f.src.string(), "s3://bkt/n/", "--quiet"}, nul_list);
    BOOST_TEST(n.exit_code == 0, "stderr: " << n.err);
    BOOST_TEST(*f.server.object("bkt", "n/d2/f3.bin") == f.files["d2/f3.bin"]);
    BOOST_TEST(*f.server.object("bkt", "n/logs/a.log") == f.files["logs/a.log"]);
}

BOOST_AUTO_TEST_CASE(several_sources_go_under_the_prefix) {
    fixture f;
    auto r = f.hoist({(f.src / "logs/a.log").string(), (f.src / "big.bin").string(), "-r", (f.src / "d0").string(),
                      "s3://bkt/m/", "--quiet"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, "stderr: " << r.err);
    BOOST_TEST(*f.server.object("bkt", "m/a.log") == f.files["logs/a.log"]);
    BOOST_TEST(*f.server.object("bkt", "m/big.bin") == f.files["big.bin"]);
    BOOST_TEST(*f.server.object("bkt", "m/f0.bin") == f.files["d0/f0.bin"]);   // a directory's contents, as aws-cli
    // One file to a "folder" keeps its name.
    auto one = f.hoist({(f.src / "logs/a.log").string(), "s3://bkt/folder/", "--quiet"});
    BOOST_TEST(one.exit_code == 0, "stderr: " << one.err);
    BOOST_TEST(f.server.object("bkt", "folder/a.log").has_value());
}

// A failed multipart file is reported once, with its upload id, and the
// abort named once (the engine's message says it; the job's line adds the id).
BOOST_AUTO_TEST_CASE(a_failed_multipart_file_names_its_aborted_upload_once) {
    fixture f;
    f.server.inject({t::s3_op::upload_part, std::nullopt, 1}, {t::fault_kind::access_denied});
    auto r = f.hoist({(f.src / "big.bin").string(), (f.src / "logs/a.log").string(), "s3://bkt/a/"});
    BOOST_TEST(r.exit_code == 1, "stderr: " << r.err);
    const auto first = r.err.find("aborted");
    BOOST_TEST_REQUIRE(first != std::string::npos, r.err);
    BOOST_TEST(r.err.find("aborted", first + 1) == std::string::npos, r.err);
    BOOST_TEST(r.err.find("(upload id ") != std::string::npos, r.err);
    BOOST_TEST(f.server.open_uploads().empty());
    BOOST_TEST(f.server.object("bkt", "a/a.log").has_value());
}

BOOST_AUTO_TEST_CASE(a_failed_file_does_not_stop_the_others_unless_fail_fast) {
    fixture f;
    fs::create_symlink(f.src / "nowhere", f.src / "dangling");
    f.server.inject({t::s3_op::put_object, std::nullopt, 3}, {t::fault_kind::access_denied});
    auto r = f.hoist({"-r", f.src.string(), "s3://bkt/e/", "--json", "--transfers", "2"});
    BOOST_TEST(r.exit_code == 1, "stderr: " << r.err);
    auto lines = json_lines(r.out);
    const auto& summary = lines.back();
    BOOST_TEST(summary.at("failed").as_int64() == 2);   // the AccessDenied file and the dangling link
    BOOST_TEST(summary.at("uploaded").as_int64() == static_cast<std::int64_t>(f.files.size() - 1));
    BOOST_TEST(r.err.find("AccessDenied") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("dangling") != std::string::npos, r.err);

    f.server.inject({t::s3_op::put_object, std::nullopt, 2}, {t::fault_kind::access_denied});
    auto ff = f.hoist({"-r", f.src.string(), "s3://bkt/ff/", "--json", "--transfers", "1", "--fail-fast"});
    BOOST_TEST(ff.exit_code == 1, "stderr: " << ff.err);
    auto ff_summary = json_lines(ff.out).back();
    BOOST_TEST(ff_summary.at("uploaded").as_int64() < static_cast<std::int64_t>(f.files.size() - 1));
    BOOST_TEST(f.server.open_uploads().empty());
}

BOOST_AUTO_TEST_CASE(ctrl_c_aborts_every_multipart_upload_in_flight) {
    fixture f;
    std::mt19937 rng(3);
    for (int i = 0; i < 3; ++i) {
        std::string data(9 * 1024 * 1024, '\0');
        for (auto& c : data) c = static_cast<char>(rng());
        std::ofstream(f.src / ("large" + std::to_string(i) + ".bin"), std::ios::binary) << data;
    }
    std::atomic<int> pid{0};
    auto args = std::vector<std::string>{HOIST_BINARY, "cp", "-r", f.src.string(), "s3://bkt/int/", "--endpoint-url",
                                         f.server.endpoint_url(), "--ca-bundle", f.server.ca_file(),
                                         "--max-bandwidth", "1MB/s", "--quiet"};
    auto run = std::async(std::launch::async, [&] {
        return t::run_process(args,
                              {{"AWS_ACCESS_KEY_ID", f.server.config().access_key_id},
                               {"AWS_SECRET_ACCESS_KEY", f.server.config().secret},
                               {"HOME", "/nonexistent"}},
                              60, {}, -1, [&](int p) { pid = p; });
    });
    // Wait (at most 20 s) until the four multipart uploads (these three and the
    // fixture's big.bin) exist, then interrupt.
    for (int i = 0; i < 400 && f.server.open_uploads().size() < 4; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    BOOST_TEST_REQUIRE(f.server.open_uploads().size() == 4u);
    ::kill(pid, SIGINT);
    auto r = run.get();
    BOOST_TEST(r.exit_code == 130, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(f.server.open_uploads().empty());
    BOOST_TEST(f.server.aborted_uploads().size() == 4u);
    BOOST_TEST(!f.server.object("bkt", "int/large0.bin").has_value());
}

BOOST_AUTO_TEST_CASE(bad_arguments_are_usage_errors) {
    fixture f;
    auto check = [&](std::vector<std::string> args, const std::string& needle) {
        auto r = f.hoist(std::move(args));
        BOOST_TEST(r.exit_code == 2, "exit " << r.exit_code << " stderr: " << r.err);
        BOOST_TEST(r.err.find(needle) != std::string::npos, "stderr: " << r.err);
    };
    check({f.src.string(), "s3://bkt/p/"}, "--recursive");
    check({"-r", (f.root / "nope").string(), "s3://bkt/p/"}, "No such file");
    check({"-r", f.src.string(), "-", "s3://bkt/p/"}, "standard input");
    check({"-r", f.src.string(), "s3://bkt/p/", "--shard", "3/3"}, "--shard");
    check({"-r", f.src.string(), "s3://bkt/p/", "--transfers", "0"}, "--transfers");
    check({"--files-from", (f.root / "nolist").string(), "s3://bkt/p/"}, "--files-from");
    BOOST_TEST(f.puts() == 0);
}

BOOST_AUTO_TEST_CASE(sync_sends_only_what_changed) {
    fixture f;
    auto first = f.sync({f.src.string(), "s3://bkt/mirror", "--quiet"});
    BOOST_TEST_REQUIRE(first.exit_code == 0, "stderr: " << first.err);
    BOOST_TEST(f.puts() == static_cast<int>(f.files.size()));
    for (const auto& [rel, data] : f.files) BOOST_TEST((*f.server.object("bkt", "mirror/" + rel) == data), rel);

    // Unchanged tree: one listing, no upload, no HeadObject.
    auto before = f.server.statistics();
    auto second = f.sync({f.src.string(), "s3://bkt/mirror/", "--json"});
    BOOST_TEST_REQUIRE(second.exit_code == 0, "stderr: " << second.err);
    auto after = f.server.statistics();
    BOOST_TEST(after.by_op[t::s3_op::put_object] == before.by_op[t::s3_op::put_object]);
    BOOST_TEST(after.by_op[t::s3_op::create] == before.by_op[t::s3_op::create]);
    BOOST_TEST(after.by_op[t::s3_op::head_object] == before.by_op[t::s3_op::head_object]);
    BOOST_TEST(after.by_op[t::s3_op::list_objects] - before.by_op[t::s3_op::list_objects] == 1);
    auto summary = json_lines(second.out).back();
    BOOST_TEST(summary.at("unchanged").as_int64() == static_cast<std::int64_t>(f.files.size()));
    BOOST_TEST(summary.at("uploaded").as_int64() == 0);

    // One file touched later than its upload, one of another size.
    auto later = fs::file_time_type::clock::now() + std::chrono::hours(1);
    fs::last_write_time(f.src / "d1/f3.bin", later);
    std::ofstream(f.src / "logs/a.log", std::ios::app) << "more";
    int puts_before = f.puts();
    auto dry = f.sync({f.src.string(), "s3://bkt/mirror/", "--dry-run"});
    BOOST_TEST(dry.exit_code == 0, "stderr: " << dry.err);
    BOOST_TEST(f.puts() == puts_before);
    BOOST_TEST(dry.err.find("d1/f3.bin (newer)") != std::string::npos, dry.err);
    BOOST_TEST(dry.err.find("logs/a.log (size differs)") != std::string::npos, dry.err);

    auto size_only = f.sync({f.src.string(), "s3://bkt/mirror/", "--size-only", "--quiet"});
    BOOST_TEST(size_only.exit_code == 0, "stderr: " << size_only.err);
    BOOST_TEST(f.puts() == puts_before + 1);   // the log only
    auto third = f.sync({f.src.string(), "s3://bkt/mirror/", "--quiet"});
    BOOST_TEST(third.exit_code == 0, "stderr: " << third.err);
    BOOST_TEST(f.puts() == puts_before + 2);   // and now the touched file
    BOOST_TEST((*f.server.object("bkt", "mirror/logs/a.log") == f.files["logs/a.log"] + "more"));
}

BOOST_AUTO_TEST_CASE(sync_pages_through_a_large_listing) {
    // More objects than one ListObjectsV2 page (1,000) under the prefix, and
    // keys that sort between the local ones: the merge must still skip them all.
    fixture f;
    for (int i = 0; i < 1100; ++i) f.server.seed_object("bkt", "big/d1/e" + std::to_string(i), "x");
    auto first = f.sync({f.src.string(), "s3://bkt/big/", "--quiet"});
    BOOST_TEST_REQUIRE(first.exit_code == 0, "stderr: " << first.err);
    int puts = f.puts();
    auto second = f.sync({f.src.string(), "s3://bkt/big/", "--quiet"});
    BOOST_TEST(second.exit_code == 0, "stderr: " << second.err);
    BOOST_TEST(f.puts() == puts);
    BOOST_TEST(f.server.statistics().by_op[t::s3_op::list_objects] == 4);   // two pages per run
}

BOOST_AUTO_TEST_SUITE_END()
