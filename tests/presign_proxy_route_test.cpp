// The part proxy's request target, PUT /v1/uploads/{uploadId}/parts/{n}?key=KEY:
// built by the client and read by the service with Boost.URL.
#include "hoist/protocol/presign/proxy_route.hpp"

#include "hoist/sigv4/encoding.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace p = hoist::protocol;

namespace {

p::api_error expect_refused(const std::string& target, int status) {
    try {
        p::parse_proxy_part_target(target);
    } catch (const p::api_error& e) {
        BOOST_TEST(e.status == status, target << ": " << e.message);
        BOOST_TEST(e.code == std::string(status == 404 ? p::api_code::not_found : p::api_code::invalid_request));
        return e;
    }
    BOOST_ERROR(target << ": no api_error");
    return p::api_error(0, "", "");
}

} // namespace

BOOST_AUTO_TEST_SUITE(presign_proxy_route)

BOOST_AUTO_TEST_CASE(targets_are_percent_encoded) {
    BOOST_TEST(p::proxy_part_target({"UP-1", 7, "uploads/alice/alice_1_m.bin"}) ==
               "/v1/uploads/UP-1/parts/7?key=uploads%2Falice%2Falice_1_m.bin");
    BOOST_TEST(p::proxy_part_target({"a b+c/d", 10000, "k +&=%?#"}) ==
               "/v1/uploads/a%20b%2Bc%2Fd/parts/10000?key=k%20%2B%26%3D%25%3F%23");
    BOOST_TEST(p::proxy_part_target({"x", 1, "\xc3\xbc"}) == "/v1/uploads/x/parts/1?key=%C3%BC");
    BOOST_TEST(p::proxy_part_target({"x", 1, "k"}).starts_with(p::proxy_route_prefix));
}

BOOST_AUTO_TEST_CASE(odd_ids_and_keys_round_trip) {
    const std::vector<std::string> keys = {
        "uploads/alice/alice_1700000000123_model.safetensors",
        "uploads/alice/alice_1_my file.bin",                       // space
        "uploads/alice/a+b.bin",                                   // '+' is not a space
        "uploads/alice/100%.bin",                                  // '%'
        "uploads/alice/a&key=evil.bin",                            // '&' and '=' do not split the query
        "uploads/alice/\xd0\xba\xd0\xbb\xd1\x8e\xd1\x87 \xf0\x9f\x98\x80.bin",  // unicode
        "a//b/../c/./d/",                                          // '/', dots
        "?#[]@!$'()*,;:~",
        "%2F%20",                                                  // already looks encoded
    };
    const std::vector<std::string> ids = {"UPLOAD-ID-1", "2~abc.def_-XYZ", "UP/1+2=", "a b", "%41", "\xc3\xa9"};
    for (const auto& key : keys) {
        for (const auto& id : ids) {
            for (std::uint32_t n : {1u, 42u, 10000u}) {
                const p::proxy_part_ref ref{id, n, key};
                const std::string target = p::proxy_part_target(ref);
                BOOST_TEST_CONTEXT(target) {
                    BOOST_TEST(target.find(' ') == std::string::npos);
                    BOOST_TEST(target.find('+') == std::string::npos);
                    const auto back = p::parse_proxy_part_target(target);
                    BOOST_TEST(back.upload_id == id);
                    BOOST_TEST(back.part_number == n);
                    BOOST_TEST(back.key == key);
                }
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(targets_as_older_clients_wrote_them) {
    // sigv4::uri_encode, as the client and the service tests built it by hand.
    const std::string id = "UP/1+2=";
    const std::string key = "uploads/alice/a b+c&d.bin";
    const std::string target = "/v1/uploads/" + hoist::sigv4::uri_encode(id, false) + "/parts/3?key=" +
                               hoist::sigv4::uri_encode(key, false);
    const auto ref = p::parse_proxy_part_target(target);
    BOOST_TEST(ref.upload_id == id);
    BOOST_TEST(ref.part_number == 3u);
    BOOST_TEST(ref.key == key);
    // A literal '+' (not encoded) stays a '+', as it did.
    BOOST_TEST(p::parse_proxy_part_target("/v1/uploads/U/parts/1?key=a+b").key == "a+b");
    BOOST_TEST(p::parse_proxy_part_target("/v1/uploads/U/parts/1?key=a/b").key == "a/b");
}

BOOST_AUTO_TEST_CASE(part_numbers) {
    BOOST_TEST(p::parse_proxy_part_target("/v1/uploads/U/parts/1?key=k").part_number == 1u);
    BOOST_TEST(p::parse_proxy_part_target("/v1/uploads/U/parts/10000?key=k").part_number == 10000u);
    BOOST_TEST(p::parse_proxy_part_target("/v1/uploads/U/parts/007?key=k").part_number == 7u);
    for (const char* bad : {"0", "10001", "1x", "", "-1", "+1", "1.0", " 1", "%20", "99999999999999999999", "0x10"}) {
        const std::string target = std::string("/v1/uploads/U/parts/") + bad + "?key=k";
        BOOST_TEST_CONTEXT(target) {
            auto e = expect_refused(target, 400);
            if (std::string(bad) != " 1")   // a raw space: not a URL at all
                BOOST_TEST(e.message == "part number must be 1..10000");
        }
    }
}

BOOST_AUTO_TEST_CASE(missing_or_malformed_ids_and_keys) {
    for (const char* bad : {"/v1/uploads/U/parts/1?", "/v1/uploads/U/parts/1?key=", "/v1/uploads/U/parts/1?key",
                            "/v1/uploads/U/parts/1?Key=k", "/v1/uploads/U/parts/1?other=k",
                            "/v1/uploads//parts/1?key=k", "/v1/uploads/a%zz/parts/1?key=k",
                            "/v1/uploads/U/parts/1?key=%", "/v1/uploads/U/parts/1?key=a%2"}) {
        BOOST_TEST_CONTEXT(bad) {
            auto e = expect_refused(bad, 400);
            BOOST_TEST(e.message == "the upload id or the key is missing or malformed");
        }
    }
    // Two keys: which one is meant cannot be known.
    auto twice = expect_refused("/v1/uploads/U/parts/1?key=a&key=b", 400);
    BOOST_TEST(twice.message == "the key is given more than once");
}

BOOST_AUTO_TEST_CASE(extra_query_parameters_are_ignored) {
    auto ref = p::parse_proxy_part_target("/v1/uploads/U/parts/2?x-id=UploadPart&key=k%26v&uploadId=other&=&&flag");
    BOOST_TEST(ref.upload_id == "U");
    BOOST_TEST(ref.part_number == 2u);
    BOOST_TEST(ref.key == "k&v");
}

BOOST_AUTO_TEST_CASE(other_shapes_are_not_this_route) {
    for (const char* bad : {"/v1/uploads/U/parts/1", "/v1/uploads/U/parts", "/v1/uploads/U/parts?key=k",
                            "/v1/uploads/U/part/1?key=k", "/v1/uploads/U/parts/1/more?key=k",
                            "/v1/uploads/a/b/parts/1?key=k", "/v1/uploads/U?key=k", "/v2/uploads/U/parts/1?key=k",
                            "/v1/presigned-upload", "http://h/v1/uploads/U/parts/1?key=k", ""}) {
        BOOST_TEST_CONTEXT(bad) {
            auto e = expect_refused(bad, 404);
            BOOST_TEST(e.message == "expected /v1/uploads/{uploadId}/parts/{n}?key=KEY");
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
