// `hoist uploads ls|abort` end to end through the real binary against the
// strict in-process S3 server: ls lists exactly the open uploads under the
// prefix with their parts and bytes; abort --dry-run changes nothing; abort
// --older-than keeps the fresh ones; abort touches nothing outside the prefix;
// one failed abort does not stop the others (exit 1); bad arguments exit 2.
#include "process.hpp"
#include "s3_test_server.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <set>
#include <sstream>

namespace t = hoist::test;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

std::map<std::string, std::string> server_env(const t::s3_test_server& server) {
    return {{"AWS_ACCESS_KEY_ID", server.config().access_key_id},
            {"AWS_SECRET_ACCESS_KEY", server.config().secret},
            {"HOME", "/nonexistent"}};
}

t::process_result uploads(const t::s3_test_server& server, std::vector<std::string> args) {
    args.insert(args.begin(), {HOIST_BINARY, "uploads"});
    args.insert(args.end(), {"--endpoint-url", server.endpoint_url(), "--ca-bundle", server.ca_file(), "--path-style"});
    return t::run_process(args, server_env(server), 60);
}

std::vector<std::string> lines(const std::string& text) {
    std::vector<std::string> out;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) out.push_back(line);
    return out;
}

std::vector<json::object> json_lines(const std::string& text) {
    std::vector<json::object> out;
    for (const auto& line : lines(text)) out.push_back(json::parse(line).as_object());
    return out;
}

std::string str(const json::object& o, const char* name) { return std::string(o.at(name).as_string()); }

std::set<std::string> as_set(std::vector<std::string> v) { return {v.begin(), v.end()}; }

// A bucket with uploads of known ages and sizes.
struct fixture {
    t::s3_test_server server;
    std::string old_a, old_b, fresh_c, outside, other_bucket;
    fixture() {
        server.create_bucket("bucket");
        server.create_bucket("other");
        const auto two_days_ago = std::chrono::system_clock::now() - 48h;
        old_a = server.seed_upload("bucket", "logs/a.bin", {std::string(5, 'a'), std::string(7, 'a')}, two_days_ago);
        old_b = server.seed_upload("bucket", "logs/b c\x01.bin", {std::string(3, 'b')}, two_days_ago);
        fresh_c = server.seed_upload("bucket", "logs/c.bin", {});
        outside = server.seed_upload("bucket", "logsX/d.bin", {"d"}, two_days_ago);   // prefix "logs/" excludes it
        other_bucket = server.seed_upload("other", "logs/e.bin", {"e"}, two_days_ago);
    }
};

void check_usage(const t::process_result& r, const std::string& needle) {
    BOOST_TEST(r.exit_code == 2, "exit " << r.exit_code << ", stderr: " << r.err);
    BOOST_TEST(r.err.find(needle) != std::string::npos, "stderr: " << r.err);
    BOOST_TEST(r.out.empty(), "stdout: " << r.out);
    BOOST_TEST(r.err.find("hoist/test+secret") == std::string::npos);
}

} // namespace

BOOST_AUTO_TEST_SUITE(cli_uploads)

BOOST_AUTO_TEST_CASE(ls_lists_exactly_the_open_uploads_under_the_prefix) {
    fixture f;
    auto r = uploads(f.server, {"ls", "s3://bucket/logs/"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto out = lines(r.out);
    BOOST_REQUIRE_EQUAL(out.size(), 4u);
    // key, upload id, initiated, parts, bytes; keys in S3's order; a control character escaped.
    BOOST_TEST(out[0].starts_with("logs/a.bin\t" + f.old_a + "\t"));
    BOOST_TEST(out[0].ends_with("\t2\t12"));
    BOOST_TEST(out[1].starts_with("logs/b c\\x01.bin\t" + f.old_b + "\t"));
    BOOST_TEST(out[1].ends_with("\t1\t3"));
    BOOST_TEST(out[2].starts_with("logs/c.bin\t" + f.fresh_c + "\t"));
    BOOST_TEST(out[2].ends_with("\t0\t0"));
    BOOST_TEST(out[3] == "3 uploads in progress");

    auto js = uploads(f.server, {"ls", "s3://bucket/logs/", "--json"});
    BOOST_TEST_REQUIRE(js.exit_code == 0, js.err);
    auto objects = json_lines(js.out);
    BOOST_REQUIRE_EQUAL(objects.size(), 3u);
    BOOST_TEST(str(objects[1], "key") == "logs/b c\x01.bin");   // exact in JSON
    BOOST_TEST(str(objects[1], "upload_id") == f.old_b);
    BOOST_TEST(objects[0].at("parts").to_number<int>() == 2);
    BOOST_TEST(objects[0].at("bytes").to_number<int>() == 12);
    BOOST_TEST(str(objects[0], "initiated").size() == 24u);

    // The whole bucket: the upload outside the prefix too, never another bucket's.
    auto all = uploads(f.server, {"ls", "s3://bucket", "--json"});
    BOOST_TEST_REQUIRE(all.exit_code == 0, all.err);
    std::vector<std::string> ids;
    for (const auto& o : json_lines(all.out)) ids.push_back(str(o, "upload_id"));
    BOOST_TEST((as_set(ids) == std::set<std::string>{f.old_a, f.old_b, f.fresh_c, f.outside}));

    auto none = uploads(f.server, {"ls", "s3://bucket/nothing-here"});
    BOOST_TEST(none.exit_code == 0);
    BOOST_TEST(none.out == "0 uploads in progress\n");
}

BOOST_AUTO_TEST_CASE(abort_dry_run_changes_nothing) {
    fixture f;
    auto r = uploads(f.server, {"abort", "s3://bucket/logs/", "--dry-run"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto out = lines(r.out);
    BOOST_REQUIRE_EQUAL(out.size(), 4u);
    BOOST_TEST(out[0].starts_with("would abort\tlogs/a.bin\t" + f.old_a));
    BOOST_TEST(out[3] == "would abort 3 uploads");
    BOOST_TEST(f.server.open_uploads().size() == 5u);
    BOOST_TEST(f.server.aborted_uploads().empty());
    BOOST_TEST(f.server.statistics().by_op[t::s3_op::abort] == 0);
}

BOOST_AUTO_TEST_CASE(abort_older_than_keeps_the_fresh_ones_and_stays_under_the_prefix) {
    fixture f;
    auto r = uploads(f.server, {"abort", "s3://bucket/logs/", "--older-than", "24h", "--json"});
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.err);
    auto objects = json_lines(r.out);
    BOOST_REQUIRE_EQUAL(objects.size(), 2u);
    BOOST_TEST(str(objects[0], "result") == "aborted");
    BOOST_TEST(str(objects[1], "key") == "logs/b c\x01.bin");
    BOOST_TEST((as_set(f.server.aborted_uploads()) == std::set<std::string>{f.old_a, f.old_b}));
    BOOST_TEST((as_set(f.server.open_uploads()) == std::set<std::string>{f.fresh_c, f.outside, f.other_bucket}));

    // 2d: nothing older is left under the prefix; the text summary says what was kept.
    auto again = uploads(f.server, {"abort", "s3://bucket/logs/", "--older-than", "2d"});
    BOOST_TEST_REQUIRE(again.exit_code == 0, again.err);
    BOOST_TEST(again.out == "aborted 0 uploads, 1 newer than 2d kept\n");

    // Without --older-than every upload under the prefix goes, the fresh one too.
    auto all = uploads(f.server, {"abort", "s3://bucket/logs/"});
    BOOST_TEST_REQUIRE(all.exit_code == 0, all.err);
    BOOST_TEST(lines(all.out).back() == "aborted 1 upload");
    BOOST_TEST((as_set(f.server.open_uploads()) == std::set<std::string>{f.outside, f.other_bucket}));
}

BOOST_AUTO_TEST_CASE(one_failed_abort_does_not_stop_the_others) {
    fixture f;
    // The first abort is refused (403, not retried); the second goes through.
    f.server.inject({t::s3_op::abort, std::nullopt}, {t::fault_kind::access_denied});
    auto r = uploads(f.server, {"abort", "s3://bucket/logs/", "--older-than", "1h"});
    BOOST_TEST_MESSAGE("hoist uploads abort with one refusal: stdout:\n" << r.out << "stderr:\n" << r.err);
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(r.err.find("could not abort logs/a.bin " + f.old_a) != std::string::npos, r.err);
    BOOST_TEST(r.err.find("AccessDenied") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("request id") != std::string::npos, r.err);
    BOOST_TEST(lines(r.out).back() == "aborted 1 upload, 1 failed, 1 newer than 1h kept");
    BOOST_TEST(f.server.aborted_uploads() == std::vector<std::string>{f.old_b});
}

BOOST_AUTO_TEST_CASE(a_refused_listing_exits_1_with_the_s3_code) {
    fixture f;
    f.server.inject({t::s3_op::list_uploads, std::nullopt}, {t::fault_kind::access_denied});
    auto r = uploads(f.server, {"ls", "s3://bucket/logs/"});
    BOOST_TEST(r.exit_code == 1, r.err);
    BOOST_TEST(r.err.find("ListMultipartUploads") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("AccessDenied") != std::string::npos, r.err);
    auto missing = uploads(f.server, {"abort", "s3://nobucket"});
    BOOST_TEST(missing.exit_code == 1, missing.err);
    BOOST_TEST(missing.err.find("NoSuchBucket") != std::string::npos, missing.err);
    BOOST_TEST(f.server.open_uploads().size() == 5u);
}

BOOST_AUTO_TEST_CASE(bad_arguments_exit_2) {
    fixture f;
    check_usage(uploads(f.server, {"ls", "https://bucket/x"}), "s3://BUCKET[/PREFIX]");
    check_usage(uploads(f.server, {"ls", "s3://"}), "bucket is missing");
    check_usage(uploads(f.server, {"ls", "s3://Bad_Bucket!"}), "bucket");
    check_usage(uploads(f.server, {"abort", "s3://bucket", "--older-than", "24"}), "'24' is not a duration");
    check_usage(uploads(f.server, {"abort", "s3://bucket", "--older-than", "1w"}), "'1w' is not a duration");
    check_usage(uploads(f.server, {"abort", "s3://bucket", "--older-than", "-3h"}), "is not a duration");
    check_usage(uploads(f.server, {"abort", "s3://bucket", "--older-than", "99999999999d"}), "is not a duration");
    check_usage(uploads(f.server, {"ls", "s3://bucket", "--older-than", "1h"}), "--older-than");
    check_usage(uploads(f.server, {"ls"}), "url");
    check_usage(uploads(f.server, {"rm", "s3://bucket"}), "subcommand");
    auto no_credentials = t::run_process({HOIST_BINARY, "uploads", "ls", "s3://bucket", "--endpoint-url",
                                          f.server.endpoint_url()},
                                         {{"HOME", "/nonexistent"}}, 60);
    check_usage(no_credentials, "credentials");
    BOOST_TEST(f.server.statistics().requests == 0);   // nothing reached the server
    BOOST_TEST(f.server.open_uploads().size() == 5u);
}

BOOST_AUTO_TEST_SUITE_END()
