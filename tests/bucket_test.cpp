// The bucket-level operations (engine/include/hoist/engine/bucket.hpp) on a
// client with its own thread, against the strict in-process S3 server: the
// object listing pages through more than 1,000 keys holding one page at a
// time, the upload listing follows both markers and counts parts, abort
// removes exactly one upload, and a refusal names the S3 code and request id.
#include "s3_test_server.hpp"

#include "hoist/engine/bucket.hpp"
#include "hoist/engine/client.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdio>
#include <set>

namespace e = hoist::engine;
namespace p = hoist::protocol;
namespace t = hoist::test;
namespace utf = boost::unit_test;
using namespace std::chrono_literals;

namespace {

struct fixture {
    t::s3_test_server storage;
    e::client client;

    explicit fixture(t::s3_test_server::options o = {}) : storage(std::move(o)) { storage.create_bucket("bucket"); }

    e::upload_options at(const std::string& key, const std::string& bucket = "bucket") const {
        e::upload_options o;
        o.location = p::locate(p::parse_endpoint(storage.endpoint_url()), bucket, key, p::addressing::path);
        o.region = "us-east-1";
        hoist::sigv4::credentials c;
        c.access_key_id = storage.config().access_key_id;
        c.secret_access_key = hoist::sigv4::secret_string(storage.config().secret);
        o.signer = std::make_shared<hoist::sigv4::signer>(c);
        o.tls.ca_file = storage.ca_file();
        o.backoff_base = 10ms;
        o.backoff_cap = 50ms;
        o.max_attempts = 3;
        o.seed = 1;
        return o;
    }
};

std::string numbered(const char* pattern, int i) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, pattern, i);
    return buffer;
}

} // namespace

BOOST_AUTO_TEST_SUITE(bucket_ops)

BOOST_AUTO_TEST_CASE(object_lister_pages_through_more_than_a_thousand_keys, *utf::timeout(60)) {
    fixture f;
    // 2,345 keys under the prefix (S3's page of 1,000: three pages), some outside.
    constexpr int count = 2345;
    std::vector<std::string> expected;
    for (int i = 0; i < count; ++i) {
        expected.push_back(numbered("data/%05d.bin", i));
        f.storage.seed_object("bucket", expected.back(), std::string(static_cast<std::size_t>(i % 7), 'x'));
    }
    f.storage.seed_object("bucket", "dat", "outside");
    f.storage.seed_object("bucket", "data0", "outside: 'data0' > 'data/'");
    f.storage.seed_object("bucket", "logs/a", "outside");

    e::object_lister lister(f.client, f.at(""), "data/");
    std::vector<std::string> keys;
    std::size_t most_pages_seen = 0;
    for (int guard = 0; guard < count + 10; ++guard) {
        auto object = lister.next();
        if (!object) break;
        BOOST_TEST(object->size == static_cast<std::uint64_t>(keys.size() % 7));
        keys.push_back(object->key);
        most_pages_seen = std::max<std::size_t>(most_pages_seen, lister.pages());
    }
    BOOST_TEST(keys.size() == expected.size());
    BOOST_TEST(keys == expected);   // in the server's (binary) order, none twice
    BOOST_TEST(lister.pages() == 3u);
    BOOST_TEST(!lister.next());     // stays at the end without asking again
    BOOST_TEST(lister.pages() == 3u);
    BOOST_TEST(f.storage.statistics().by_op[t::s3_op::list_objects] == 3);
}

BOOST_AUTO_TEST_CASE(object_lister_small_pages_and_an_empty_prefix, *utf::timeout(30)) {
    fixture f;
    for (int i = 0; i < 5; ++i) f.storage.seed_object("bucket", numbered("k%d", i), "v");
    e::object_lister lister(f.client, f.at(""), "", 2);
    int seen = 0;
    while (lister.next() && seen < 100) ++seen;
    BOOST_TEST(seen == 5);
    BOOST_TEST(lister.pages() == 3u);
    e::object_lister nothing(f.client, f.at(""), "none/");
    BOOST_TEST(!nothing.next());
    BOOST_CHECK_THROW(e::object_lister(f.client, f.at("key"), ""), std::invalid_argument);
    BOOST_CHECK_THROW(e::object_lister(f.client, f.at(""), "", 1001), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(list_uploads_follows_markers_and_counts_parts, *utf::timeout(30)) {
    t::s3_test_server::options o;
    o.max_uploads_per_page = 2;   // five uploads: three pages
    fixture f(o);
    auto a = f.storage.seed_upload("bucket", "up/a", {"12345", "678"});
    auto b1 = f.storage.seed_upload("bucket", "up/b", {});
    auto b2 = f.storage.seed_upload("bucket", "up/b", {"x"});
    auto c = f.storage.seed_upload("bucket", "up/c\x01", {std::string(1000, 'z')});
    auto d = f.storage.seed_upload("bucket", "up/d", {});
    f.storage.seed_upload("bucket", "other/e", {"outside the prefix"});

    auto plain = e::list_multipart_uploads(f.client, f.at(""), "up/");
    BOOST_REQUIRE_EQUAL(plain.size(), 5u);
    BOOST_TEST(!plain[0].parts.has_value());
    std::vector<std::string> ids;
    for (const auto& u : plain) ids.push_back(u.upload_id);
    BOOST_TEST(ids == (std::vector<std::string>{a, b1, b2, c, d}));
    BOOST_TEST(plain[3].key == "up/c\x01");

    auto counted = e::list_multipart_uploads(f.client, f.at(""), "up/", {.count_parts = true});
    BOOST_REQUIRE_EQUAL(counted.size(), 5u);
    BOOST_TEST(counted[0].parts.value() == 2u);
    BOOST_TEST(counted[0].bytes.value() == 8u);
    BOOST_TEST(counted[1].parts.value() == 0u);
    BOOST_TEST(counted[2].bytes.value() == 1u);
    BOOST_TEST(counted[3].bytes.value() == 1000u);   // ListParts on a key with a control character

    BOOST_CHECK_THROW(e::list_multipart_uploads(f.client, f.at(""), "up/", {.count_parts = false, .max_uploads = 4}),
                      e::upload_error);
}

BOOST_AUTO_TEST_CASE(parts_of_many_uploads_are_counted_side_by_side, *utf::timeout(60)) {
    fixture f;
    // More uploads than ListParts workers: each upload i has i parts of i bytes.
    constexpr int count = 30;
    std::vector<std::string> ids;
    for (int i = 0; i < count; ++i)
        ids.push_back(f.storage.seed_upload("bucket", numbered("many/%02d", i),
                                            std::vector<std::string>(static_cast<std::size_t>(i), std::string(i, 'p'))));
    auto counted = e::list_multipart_uploads(f.client, f.at(""), "many/", {.count_parts = true});
    BOOST_REQUIRE_EQUAL(counted.size(), static_cast<std::size_t>(count));
    for (int i = 0; i < count; ++i) {
        BOOST_TEST(counted[i].upload_id == ids[i]);
        BOOST_TEST(counted[i].parts.value() == static_cast<std::uint32_t>(i));
        BOOST_TEST(counted[i].bytes.value() == static_cast<std::uint64_t>(i * i));
    }
    BOOST_TEST(f.storage.statistics().by_op[t::s3_op::list_parts] == count);

    // One refusal among them fails the listing with its code; nothing hangs.
    f.storage.inject({t::s3_op::list_parts, std::nullopt, 7}, {t::fault_kind::access_denied});
    try {
        e::list_multipart_uploads(f.client, f.at(""), "many/", {.count_parts = true});
        BOOST_FAIL("the refused ListParts was not reported");
    } catch (const e::upload_error& err) {
        BOOST_TEST(std::string(err.what()).find("ListParts many/") != std::string::npos, err.what());
        BOOST_TEST(std::string(err.what()).find("AccessDenied") != std::string::npos, err.what());
    }
}

BOOST_AUTO_TEST_CASE(abort_removes_exactly_one_upload, *utf::timeout(30)) {
    fixture f;
    auto keep = f.storage.seed_upload("bucket", "k", {"a"});
    auto drop = f.storage.seed_upload("bucket", "k", {"b"});
    e::abort_multipart_upload(f.client, f.at("k"), drop);
    BOOST_TEST(f.storage.open_uploads() == std::vector<std::string>{keep});
    BOOST_TEST(f.storage.aborted_uploads() == std::vector<std::string>{drop});
    // Gone already: not an error (an earlier attempt's abort may have gone through).
    BOOST_CHECK_NO_THROW(e::abort_multipart_upload(f.client, f.at("k"), drop));
    BOOST_CHECK_THROW(e::abort_multipart_upload(f.client, f.at(""), keep), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(refusals_name_the_s3_code_and_request_id, *utf::timeout(30)) {
    fixture f;
    f.storage.seed_upload("bucket", "k", {});
    f.storage.inject({t::s3_op::list_uploads, std::nullopt}, {t::fault_kind::access_denied});
    try {
        e::list_multipart_uploads(f.client, f.at(""), "");
        BOOST_FAIL("AccessDenied was not reported");
    } catch (const e::upload_error& err) {
        const std::string what = err.what();
        BOOST_TEST(e::to_string(err.code()) == "rejected");
        BOOST_TEST(what.find("ListMultipartUploads") != std::string::npos, what);
        BOOST_TEST(what.find("AccessDenied") != std::string::npos, what);
        BOOST_TEST(what.find("(request id ") != std::string::npos, what);
    }
    try {
        e::object_lister lister(f.client, f.at("", "nobucket"), "");
        lister.next();
        BOOST_FAIL("NoSuchBucket was not reported");
    } catch (const e::upload_error& err) {
        BOOST_TEST(std::string(err.what()).find("NoSuchBucket") != std::string::npos, err.what());
    }
    // A 200 whose body is an <Error>, not a listing: refused, with the code.
    f.storage.inject({t::s3_op::list_objects, std::nullopt}, {t::fault_kind::error_in_200});
    try {
        e::object_lister lister(f.client, f.at(""), "");
        lister.next();
        BOOST_FAIL("the <Error> in a 200 was not reported");
    } catch (const e::upload_error& err) {
        BOOST_TEST(std::string(err.what()).find("ListObjectsV2: InternalError") != std::string::npos, err.what());
        BOOST_TEST(std::string(err.what()).find("(request id ") != std::string::npos, err.what());
    }
    // A 500 on every attempt: retried max_attempts times, then retries_exhausted.
    for (int i = 1; i <= 3; ++i)
        f.storage.inject({t::s3_op::abort, std::nullopt, i}, {t::fault_kind::status_500});
    auto id = f.storage.open_uploads().at(0);
    try {
        e::abort_multipart_upload(f.client, f.at("k"), id);
        BOOST_FAIL("the 500s were not reported");
    } catch (const e::upload_error& err) {
        BOOST_TEST(e::to_string(err.code()) == "retries exhausted", err.what());
    }
    BOOST_TEST(f.storage.open_uploads().size() == 1u);
    // And a transient one is retried through.
    f.storage.inject({t::s3_op::abort, std::nullopt}, {t::fault_kind::status_500});
    e::abort_multipart_upload(f.client, f.at("k"), id);
    BOOST_TEST(f.storage.open_uploads().empty());
}

BOOST_AUTO_TEST_SUITE_END()
