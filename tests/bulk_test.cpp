// The pure parts of bulk uploads (engine/include/hoist/engine/bulk.hpp) and
// the directory walk on a temporary tree.
#include "hoist/engine/bulk.hpp"
#include "hoist/protocol/presign/wire.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <set>

namespace b = hoist::engine::bulk;
namespace fs = std::filesystem;

BOOST_AUTO_TEST_SUITE(bulk)

BOOST_AUTO_TEST_CASE(glob_is_fnmatch_without_flags) {
    BOOST_TEST(b::glob_match("*", ""));
    BOOST_TEST(b::glob_match("*", "a/b/c"));           // '*' crosses '/', as in aws-cli
    BOOST_TEST(b::glob_match("*.log", "x/y.log"));
    BOOST_TEST(!b::glob_match("*.log", "x/y.log.gz"));
    BOOST_TEST(b::glob_match("d?/f*", "d1/f22"));
    BOOST_TEST(!b::glob_match("d?/f*", "d12/f22"));
    BOOST_TEST(b::glob_match("[ab]*", "b.txt"));
    BOOST_TEST(!b::glob_match("[ab]*", "c.txt"));
    BOOST_TEST(b::glob_match("[!ab]*", "c.txt"));
    BOOST_TEST(b::glob_match("f[0-9].bin", "f7.bin"));
    BOOST_TEST(!b::glob_match("f[0-9].bin", "fx.bin"));
    BOOST_TEST(b::glob_match("a[", "a["));               // no closing ']': a literal '['
    BOOST_TEST(b::glob_match("[]]", "]"));               // ']' first in a set is a member
    BOOST_TEST(!b::glob_match("abc", "ab"));
    BOOST_TEST(!b::glob_match("ab", "abc"));
    // Many stars on a long non-matching text: bounded, not exponential.
    std::string text(5000, 'a');
    BOOST_TEST(!b::glob_match("*a*a*a*a*a*a*a*a*b", text));
}

BOOST_AUTO_TEST_CASE(filters_last_matching_rule_decides) {
    using k = b::filter_rule::kind;
    b::path_filter none;
    BOOST_TEST(none.included("anything"));
    b::path_filter logs({{k::exclude, "*"}, {k::include, "*.log"}});
    BOOST_TEST(logs.included("a/b.log"));
    BOOST_TEST(!logs.included("a/b.txt"));
    // The same rules in the other order exclude everything.
    b::path_filter reversed({{k::include, "*.log"}, {k::exclude, "*"}});
    BOOST_TEST(!reversed.included("a/b.log"));
    b::path_filter tmp({{k::exclude, "tmp/*"}});
    BOOST_TEST(!tmp.included("tmp/x"));
    BOOST_TEST(tmp.included("src/tmp/x"));
}

BOOST_AUTO_TEST_CASE(shards_split_keys_exactly_once) {
    BOOST_TEST(b::parse_shard("3/8").index == 3u);
    BOOST_TEST(b::parse_shard("3/8").count == 8u);
    for (const char* bad : {"", "3", "8/8", "1/0", "-1/4", "a/4", "1/4x", "1 /4"})
        BOOST_CHECK_THROW(b::parse_shard(bad), std::invalid_argument);
    const unsigned n = 5;
    std::vector<unsigned> per_shard(n, 0);
    for (int i = 0; i < 10000; ++i) {
        std::string key = "data/part-" + std::to_string(i) + ".bin";
        unsigned owners = 0;
        for (unsigned k = 0; k < n; ++k) {
            const b::shard s{k, n};
            if (s.owns(key)) ++owners, ++per_shard[k];
        }
        BOOST_TEST_REQUIRE(owners == 1u, key);
    }
    for (unsigned k = 0; k < n; ++k) BOOST_TEST((per_shard[k] > 1700 && per_shard[k] < 2300), per_shard[k]);
    // Stable: FNV-1a 64 of "a" is 0xaf63dc4c8601ec8c.
    const b::shard owner{static_cast<unsigned>(0xaf63dc4c8601ec8cull % 7), 7};
    BOOST_TEST(owner.owns("a"));
}

BOOST_AUTO_TEST_CASE(keys_as_aws_cli_maps_them) {
    BOOST_TEST(b::key_for("", "a/b.txt") == "a/b.txt");
    BOOST_TEST(b::key_for("pre", "a/b.txt") == "pre/a/b.txt");
    BOOST_TEST(b::key_for("pre/", "./a/b.txt") == "pre/a/b.txt");
}

// sync reads LastModified with the project's one ISO 8601 parser (whole seconds).
BOOST_AUTO_TEST_CASE(s3_times) {
    BOOST_TEST(*hoist::protocol::parse_expires_at("1970-01-01T00:00:00Z") == 0);
    BOOST_TEST(*hoist::protocol::parse_expires_at("2026-12-03T10:15:30.000Z") == 1796292930ll);
    BOOST_TEST(*hoist::protocol::parse_expires_at("2000-03-01T00:00:01.5Z") == 951868801ll);
    for (const char* bad : {"", "2026-12-03", "2026-12-03T10:15:30", "2026-13-03T10:15:30Z", "2026-12-03T10:15:30.Z",
                            "2026-12-03T10:15:30.x1Z", "20x6-12-03T10:15:30Z"})
        BOOST_TEST(!hoist::protocol::parse_expires_at(bad).has_value(), bad);
}

BOOST_AUTO_TEST_CASE(sync_decisions) {
    b::file_entry local{"p", "r", 10, 2'000'000'000};
    BOOST_TEST((b::decide_sync(local, nullptr, false) == b::sync_decision::send_missing));
    b::remote_object same{"k", 10, 3};
    BOOST_TEST((b::decide_sync(local, &same, false) == b::sync_decision::skip));
    b::remote_object older{"k", 10, 1};
    BOOST_TEST((b::decide_sync(local, &older, false) == b::sync_decision::send_newer));
    BOOST_TEST((b::decide_sync(local, &older, true) == b::sync_decision::skip));
    // The same second as the upload's end is not newer (S3 keeps whole seconds).
    b::file_entry same_second{"p", "r", 10, 5'000'000'900};
    b::remote_object stored{"k", 10, 5};
    BOOST_TEST((b::decide_sync(same_second, &stored, false) == b::sync_decision::skip));
    b::file_entry next_second{"p", "r", 10, 6'000'000'000};
    BOOST_TEST((b::decide_sync(next_second, &stored, false) == b::sync_decision::send_newer));
    b::remote_object other_size{"k", 11, 3};
    BOOST_TEST((b::decide_sync(local, &other_size, true) == b::sync_decision::send_size_differs));
}

BOOST_AUTO_TEST_CASE(sync_merge_walks_both_sorted_streams_once) {
    std::vector<b::remote_object> remote{{"a", 1, 0}, {"b/x", 2, 0}, {"c", 3, 0}, {"e", 5, 0}};
    std::size_t pulled = 0;
    auto pull = [&]() -> std::optional<b::remote_object> {
        if (pulled >= remote.size()) return std::nullopt;
        return remote[pulled++];
    };
    b::sync_merge merge;
    BOOST_TEST(merge.find("a", pull)->size == 1u);
    BOOST_TEST(merge.find("b", pull) == nullptr);
    BOOST_TEST(merge.find("b/x", pull)->size == 2u);
    BOOST_TEST(merge.find("d", pull) == nullptr);      // "c" passed over
    BOOST_TEST(merge.find("e", pull)->size == 5u);
    BOOST_TEST(merge.find("f", pull) == nullptr);
    BOOST_TEST(pulled == remote.size());
    BOOST_CHECK_THROW(merge.find("a", pull), std::logic_error);
}

namespace {
struct tree {
    fs::path root = fs::temp_directory_path() / ("hoist-bulk-test-" + std::to_string(::getpid()));
    tree() {
        fs::remove_all(root);
        for (const char* d : {"a", "a/b", "a-b", "z", "empty"}) fs::create_directories(root / d);
        for (const char* f : {"a/x", "a/b/y", "a-b/q", "a.txt", "z/last", "0first"}) std::ofstream(root / f) << f;
        fs::create_directory_symlink(root / "a", root / "link-to-dir");
        fs::create_symlink(root / "a.txt", root / "link-to-file");
        fs::create_symlink(root / "nowhere", root / "dangling");
        ::mkfifo((root / "fifo").c_str(), 0600);
    }
    ~tree() { fs::remove_all(root); }
};

std::vector<b::walk_item> walk_all(const std::string& root, b::tree_walker::order o) {
    b::tree_walker w(root, o);
    std::vector<b::walk_item> items;
    while (auto item = w.next()) {
        items.push_back(*item);
        BOOST_TEST_REQUIRE(items.size() < 100u);
    }
    return items;
}
} // namespace

BOOST_AUTO_TEST_CASE(walk_in_key_order_reports_what_it_skips) {
    tree t;
    auto items = walk_all(t.root.string(), b::tree_walker::order::key);
    std::vector<std::string> files, skipped, errors;
    for (const auto& i : items) {
        auto& into = i.type == b::walk_item::kind::file ? files : i.type == b::walk_item::kind::skipped ? skipped : errors;
        into.push_back(i.file.relative);
    }
    // S3's order of the keys: bytewise, a directory's entries as "name/...".
    std::vector<std::string> expected{"0first", "a-b/q", "a.txt", "a/b/y", "a/x", "link-to-file", "z/last"};
    BOOST_TEST(files == expected, boost::test_tools::per_element());
    BOOST_TEST(std::is_sorted(files.begin(), files.end()));
    std::set<std::string> skipped_set(skipped.begin(), skipped.end());
    BOOST_TEST((skipped_set == std::set<std::string>{"fifo", "link-to-dir"}));
    BOOST_TEST((errors == std::vector<std::string>{"dangling"}));
    for (const auto& i : items)
        if (i.file.relative == "link-to-file") BOOST_TEST(i.file.size == 5u);   // the target's size ("a.txt")
        else if (i.file.relative == "a/b/y") {
            BOOST_TEST(i.file.size == 5u);
            BOOST_TEST(i.file.path == (t.root / "a/b/y").string());
            BOOST_TEST(i.file.mtime_ns > 0);
        }
}

BOOST_AUTO_TEST_CASE(walk_in_kernel_order_finds_the_same_files) {
    tree t;
    auto sorted = walk_all(t.root.string(), b::tree_walker::order::key);
    auto kernel = walk_all(t.root.string(), b::tree_walker::order::kernel);
    std::multiset<std::string> a, c;
    for (auto& i : sorted) a.insert(i.file.relative);
    for (auto& i : kernel) c.insert(i.file.relative);
    BOOST_TEST((a == c));
}

BOOST_AUTO_TEST_CASE(walk_of_a_missing_root_is_one_error) {
    auto items = walk_all("/nonexistent/hoist-bulk", b::tree_walker::order::kernel);
    BOOST_TEST_REQUIRE(items.size() == 1u);
    BOOST_TEST((items[0].type == b::walk_item::kind::error));
    BOOST_TEST(items[0].message.find("cannot read directory") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
