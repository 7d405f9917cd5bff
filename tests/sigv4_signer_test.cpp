// Signer behaviour beyond the vectors: input validation, the S3 encoding rules,
// the signing-key cache, and that secrets cannot be printed.
#include "hoist/sigv4/signer.hpp"

#include <boost/test/unit_test.hpp>

#include <sstream>
#include <type_traits>

namespace sv4 = hoist::sigv4;
using namespace std::chrono_literals;

namespace {

template <class T, class = void>
struct streamable : std::false_type {};
template <class T>
struct streamable<T, std::void_t<decltype(std::declval<std::ostream&>() << std::declval<const T&>())>>
    : std::true_type {};

sv4::credentials example_creds(std::string token = "") {
    sv4::credentials c;
    c.access_key_id = "AKIDEXAMPLE";
    c.secret_access_key = sv4::secret_string("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY");
    c.session_token = sv4::secret_string(std::move(token));
    return c;
}

sv4::request s3_get(std::string path) {
    sv4::request r;
    r.method = "GET";
    r.path = std::move(path);
    r.headers = {{"Host", "bucket.s3.us-east-1.amazonaws.com"}};
    r.payload_hash = std::string(sv4::unsigned_payload);
    return r;
}

sv4::signing_params params(std::string region = "us-east-1") {
    sv4::signing_params p;
    p.region = std::move(region);
    p.date = sv4::amz_date::parse("20150830T123600Z");
    return p;
}

} // namespace

BOOST_AUTO_TEST_SUITE(sigv4_signer)

BOOST_AUTO_TEST_CASE(secrets_are_not_streamable_and_describe_redacts) {
    static_assert(!streamable<sv4::secret_string>::value);
    static_assert(!streamable<sv4::credentials>::value);
    static_assert(streamable<std::string>::value);  // the trait itself works
    auto c = example_creds("SESSIONTOKEN123");
    std::string d = c.describe();
    BOOST_TEST(d.find("AKIDEXAMPLE") != std::string::npos);
    BOOST_TEST(d.find("wJalr") == std::string::npos);
    BOOST_TEST(d.find("SESSIONTOKEN123") == std::string::npos);
    BOOST_TEST(d.find("<redacted>") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(empty_key_or_secret_is_refused) {
    auto c = example_creds();
    c.access_key_id.clear();
    BOOST_CHECK_EXCEPTION(sv4::signer{c}, sv4::sigv4_error, [](const sv4::sigv4_error& e) {
        return std::string(e.what()).find("access key id is empty") != std::string::npos;
    });
    c = example_creds();
    c.secret_access_key = sv4::secret_string("");
    BOOST_CHECK_EXCEPTION(sv4::signer{c}, sv4::sigv4_error, [](const sv4::sigv4_error& e) {
        return std::string(e.what()).find("secret access key is empty") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(empty_region_and_missing_host_are_refused) {
    sv4::signer s(example_creds());
    BOOST_CHECK_THROW(s.sign_headers(s3_get("/k"), params("")), sv4::sigv4_error);
    BOOST_CHECK_THROW(s.presign(s3_get("/k"), params(""), 60s), sv4::sigv4_error);
    auto no_host = s3_get("/k");
    no_host.headers.clear();
    BOOST_CHECK_THROW(s.sign_headers(no_host, params()), sv4::sigv4_error);
}

BOOST_AUTO_TEST_CASE(expiry_must_be_within_one_second_and_seven_days) {
    sv4::signer s(example_creds());
    BOOST_CHECK_THROW(s.presign(s3_get("/k"), params(), 0s), sv4::sigv4_error);
    BOOST_CHECK_THROW(s.presign(s3_get("/k"), params(), -5s), sv4::sigv4_error);
    BOOST_CHECK_THROW(s.presign(s3_get("/k"), params(), 604801s), sv4::sigv4_error);
    BOOST_CHECK_NO_THROW(s.presign(s3_get("/k"), params(), 1s));
    auto r = s.presign(s3_get("/k"), params(), 604800s);
    BOOST_TEST(r.canonical_query.find("X-Amz-Expires=604800") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(malformed_dates_are_refused) {
    for (const char* bad : {"", "20150830", "20150830T123600", "2015-08-30T12:36:00Z", "20151330T123600Z",
                            "20150230T123600Z", "20150830T243600Z", "20150830T126000Z", "2015083OT123600Z",
                            "20150830X123600Z", "20150830T123600ZZ", "19690101T000000Z"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(sv4::amz_date::parse(bad), sv4::sigv4_error); }
    }
    BOOST_CHECK_NO_THROW(sv4::amz_date::parse("20240229T235960Z"));  // leap day, leap second
    BOOST_CHECK_THROW(sv4::amz_date::parse("20230229T000000Z"), sv4::sigv4_error);
}

// Found by fuzz_sigv4: a year past 2262 overflowed system_clock's nanoseconds
// in time_point() (the test server calls it on every request's X-Amz-Date).
BOOST_AUTO_TEST_CASE(dates_beyond_the_system_clock_are_refused) {
    for (const char* bad : {"40481002T002010Z", "22620411T234717Z", "99991231T235959Z"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(sv4::amz_date::parse(bad), sv4::sigv4_error); }
    }
    const auto last = sv4::amz_date::parse("22611231T235959Z");
    BOOST_TEST(sv4::amz_date::from(last.time_point()).iso() == "22611231T235959Z");
    BOOST_TEST(std::chrono::system_clock::to_time_t(last.time_point() + sv4::max_presign_expiry) == 9214646399 + 604800);
}

BOOST_AUTO_TEST_CASE(amz_date_round_trips_through_time_point) {
    auto d = sv4::amz_date::parse("20150830T123600Z");
    BOOST_TEST(d.day() == "20150830");
    BOOST_TEST(sv4::amz_date::from(d.time_point()).iso() == "20150830T123600Z");
    BOOST_TEST(std::chrono::system_clock::to_time_t(d.time_point()) == 1440938160);
}

BOOST_AUTO_TEST_CASE(s3_keys_are_encoded_once_and_never_normalised) {
    // Spaces, '+', '%', '~', '=', '&', unicode and dot segments in one key.
    BOOST_TEST(sv4::canonical_uri("/b/a b+c%d~e=f&g/ሴ/../x//y", false) ==
               "/b/a%20b%2Bc%25d~e%3Df%26g/%E1%88%B4/../x//y");
    BOOST_TEST(sv4::canonical_uri("/b/already%20encoded", false) == "/b/already%2520encoded");
    BOOST_TEST(sv4::canonical_uri("", false) == "/");
    BOOST_TEST(sv4::canonical_uri("/a/./b/../c//", true) == "/a/c/");
}

BOOST_AUTO_TEST_CASE(query_is_sorted_by_encoded_name_then_value) {
    std::vector<sv4::query_param> q = {{"uploadId", "x/y+z"}, {"partNumber", "10"}, {"b", "2"}, {"b", "1"},
                                       {"uploads", ""}};
    BOOST_TEST(sv4::canonical_query_string(q) == "b=1&b=2&partNumber=10&uploadId=x%2Fy%2Bz&uploads=");
}

// Found by fuzz_sigv4: "My-He\xff...;..." was signed, and its ';' made
// SignedHeaders list names the request does not have.
BOOST_AUTO_TEST_CASE(header_names_that_http_cannot_carry_are_refused) {
    sv4::signer s(example_creds());
    for (std::string bad : {std::string("x-a;b"), std::string("x a"), std::string("x:y"), std::string("x\ny"),
                            std::string(""), std::string("My-He\xff\xff;\xff")}) {
        BOOST_TEST_CONTEXT("name '" << bad << "'") {
            auto req = s3_get("/k");
            req.headers.push_back({bad, "v"});
            BOOST_CHECK_THROW(s.sign_headers(req, params()), sv4::sigv4_error);
            BOOST_CHECK_THROW(s.presign(req, params(), 60s), sv4::sigv4_error);
        }
    }
    auto ok = s3_get("/k");
    ok.headers.push_back({"X-Amz-Meta-!#$%&'*+-.^_`|~09", "v"});
    BOOST_TEST(s.sign_headers(ok, params()).signed_headers == "host;x-amz-content-sha256;x-amz-date;x-amz-meta-!#$%&'*+-.^_`|~09");
}

BOOST_AUTO_TEST_CASE(header_names_lowercased_values_trimmed_and_collapsed) {
    auto [block, names] = sv4::canonical_headers({{"X-Amz-Meta-A", "  one   two  "}, {"Host", "h"},
                                                  {"x-amz-meta-a", "\tthree"}});
    BOOST_TEST(block == "host:h\nx-amz-meta-a:one two,three\n");
    BOOST_TEST(names == "host;x-amz-meta-a");
}

BOOST_AUTO_TEST_CASE(signing_key_is_the_documented_derivation_and_cached) {
    sv4::signer s(example_creds());
    auto date = sv4::amz_date::parse("20150830T123600Z");
    auto k1 = s.signing_key(date, "us-east-1", "iam");
    // The derived key from AWS's own documentation for these inputs.
    BOOST_TEST(sv4::hex(k1) == "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
    BOOST_TEST(sv4::hex(s.signing_key(date, "us-east-1", "iam")) == sv4::hex(k1));
    BOOST_TEST(sv4::hex(s.signing_key(date, "us-west-2", "iam")) != sv4::hex(k1));
}

BOOST_AUTO_TEST_CASE(s3_header_signing_adds_content_sha256_and_token) {
    sv4::signer s(example_creds("TOKEN"));
    auto r = s.sign_headers(s3_get("/k"), params());
    BOOST_REQUIRE_EQUAL(r.added_headers.size(), 4u);
    BOOST_TEST(r.added_headers[0].name == "X-Amz-Security-Token");
    BOOST_TEST(r.added_headers[1].name == "X-Amz-Date");
    BOOST_TEST(r.added_headers[2].name == "x-amz-content-sha256");
    BOOST_TEST(r.added_headers[2].value == "UNSIGNED-PAYLOAD");
    BOOST_TEST(r.signed_headers == "host;x-amz-content-sha256;x-amz-date;x-amz-security-token");
    BOOST_TEST(r.canonical_request.ends_with("\nUNSIGNED-PAYLOAD"));
}

BOOST_AUTO_TEST_CASE(presigned_query_puts_signature_last) {
    sv4::signer s(example_creds("TOK/EN"));
    auto r = s.presign(s3_get("/k"), params(), 3600s);
    auto q = sv4::presigned_query(r);
    BOOST_TEST(q.find("X-Amz-Security-Token=TOK%2FEN") != std::string::npos);
    BOOST_TEST(q.ends_with("&X-Amz-Signature=" + r.signature));
    BOOST_TEST(r.signature.size() == 64u);
}

BOOST_AUTO_TEST_CASE(uri_decode_rejects_malformed_escapes) {
    BOOST_TEST(*sv4::uri_decode("a%20b+c") == "a b+c");
    BOOST_TEST(!sv4::uri_decode("%").has_value());
    BOOST_TEST(!sv4::uri_decode("%4").has_value());
    BOOST_TEST(!sv4::uri_decode("%G1").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
