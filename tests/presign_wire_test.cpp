// The presign service's wire format from both sides: every request the client
// renders is parsed by the service, every answer the service renders is parsed
// by the client, and a malformed answer names its field.
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/wire.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <functional>
#include <set>
#include <string>
#include <vector>

namespace p = hoist::protocol;
namespace json = boost::json;

namespace {

// A service config with the defaults (part_size 8 MiB, url_batch 100,
// single_put_max 8 MiB).
const p::service_config& config() {
    static const p::service_config cfg = p::parse_service_config(R"({
        "storage": {"endpoint": "https://127.0.0.1:9000", "region": "us-east-1", "bucket": "upload-bucket"},
        "token_secret": "0123456789abcdef0123456789abcdef",
        "tokens": [{"sha256": "0000000000000000000000000000000000000000000000000000000000000000", "user": "alice"}]
    })");
    return cfg;
}

std::set<std::string> keys_of(const json::object& o) {
    std::set<std::string> keys;
    for (const auto& kv : o) keys.insert(std::string(kv.key()));
    return keys;
}

template <class T>
T served(const std::string& body) {
    p::api_request r = p::parse_api_request(body, config());
    BOOST_TEST_REQUIRE(std::holds_alternative<T>(r));
    return std::get<T>(std::move(r));
}

const p::upload_ref ref{"UP/1+2=", "uploads/alice/alice_1_m\xc3\xa9.bin", "v1.1700000000.sig"};

bool same(const p::upload_ref& a, const p::upload_ref& b) {
    return a.upload_id == b.upload_id && a.s3_key == b.s3_key && a.upload_token == b.upload_token;
}

bool same(const std::vector<p::presigned_part>& a, const std::vector<p::presigned_part>& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].part_number != b[i].part_number || a[i].url != b[i].url) return false;
    return true;
}

} // namespace

BOOST_AUTO_TEST_SUITE(presign_wire)

// ---- requests: client -> service -------------------------------------------------

BOOST_AUTO_TEST_CASE(start_request_round_trip) {
    p::start_request r{"my model.safetensors", 100 * p::mib, "application/x-safetensors", 13};
    const std::string body = p::request_json(r);
    BOOST_TEST(body == R"({"action":"start","fileName":"my model.safetensors","fileSize":104857600,)"
                       R"("contentType":"application/x-safetensors","totalParts":13})");
    auto s = served<p::start_req>(body);
    BOOST_TEST(s.file_name == "my_model.safetensors");   // the service sanitizes the raw name
    BOOST_TEST(s.file_size == 100 * p::mib);
    BOOST_TEST(s.content_type == "application/x-safetensors");
    BOOST_TEST(s.plan.part_count == 13u);
    BOOST_TEST(p::action_name(p::api_request(s)) == "start");

    // No content type, no totalParts: both left out, the service's defaults.
    p::start_request bare{"a.bin", 0, "", std::nullopt};
    json::value v = json::parse(p::request_json(bare));
    BOOST_TEST((keys_of(v.as_object()) == std::set<std::string>{"action", "fileName", "fileSize"}));
    auto b = served<p::start_req>(p::request_json(bare));
    BOOST_TEST(b.content_type == "application/octet-stream");
    BOOST_TEST(b.plan.part_count == 1u);

    // A totalParts that differs from the service's plan is refused, as before.
    r.total_parts = 20;
    try {
        p::parse_api_request(p::request_json(r), config());
        BOOST_ERROR("no api_error");
    } catch (const p::api_error& e) {
        BOOST_TEST(e.code == std::string(p::api_code::part_count_mismatch));
    }
}

BOOST_AUTO_TEST_CASE(single_request_round_trip) {
    p::single_request r{"photo 1.jpg", 8 * p::mib, "image/jpeg"};
    const std::string body = p::request_json(r);
    BOOST_TEST(body == R"({"action":"single","fileName":"photo 1.jpg","fileSize":8388608,"contentType":"image/jpeg"})");
    auto s = served<p::single_req>(body);
    BOOST_TEST(s.file_name == "photo_1.jpg");
    BOOST_TEST(s.file_size == 8 * p::mib);
    BOOST_TEST(s.content_type == "image/jpeg");
    BOOST_TEST(p::action_name(p::api_request(s)) == "single");
}

// The product's start: fileName and totalParts, no fileSize.
BOOST_AUTO_TEST_CASE(start_without_file_size_round_trip) {
    p::start_parts_request r{"my model.safetensors", 3, ""};
    const std::string body = p::request_json(r);
    BOOST_TEST(body == R"({"action":"start","fileName":"my model.safetensors","totalParts":3})");
    auto s = served<p::start_parts_req>(body);
    BOOST_TEST(s.file_name == "my_model.safetensors");
    BOOST_TEST(s.total_parts == 3u);
    BOOST_TEST(s.content_type == "application/octet-stream");
    BOOST_TEST(p::action_name(p::api_request(s)) == "start");
    r.content_type = "video/mp4";
    r.total_parts = 10000;
    auto t = served<p::start_parts_req>(p::request_json(r));
    BOOST_TEST(t.total_parts == 10000u);
    BOOST_TEST(t.content_type == "video/mp4");
}

// Without uploadToken (the product's complete and abort): left out, not sent empty.
BOOST_AUTO_TEST_CASE(upload_requests_without_a_token_round_trip) {
    const p::upload_ref bare{"UP-9", "uploads/alice/alice_1_x.bin", ""};
    p::complete_request complete{bare, {{1, "\"e1\"", ""}}};
    json::value v = json::parse(p::request_json(complete));
    BOOST_TEST((keys_of(v.as_object()) == std::set<std::string>{"action", "uploadId", "s3Key", "parts"}));
    BOOST_TEST(same(served<p::complete_req>(p::request_json(complete)).upload, bare));
    p::abort_request abort{bare};
    BOOST_TEST(json::parse(p::request_json(abort)) ==
               json::parse(R"({"action":"abort","uploadId":"UP-9","s3Key":"uploads/alice/alice_1_x.bin"})"));
    BOOST_TEST(same(served<p::abort_req>(p::request_json(abort)).upload, bare));
}

BOOST_AUTO_TEST_CASE(upload_requests_round_trip) {
    p::presign_request presign{ref, {22, 21, 10000}};
    json::value v = json::parse(p::request_json(presign));
    BOOST_TEST((keys_of(v.as_object()) ==
                std::set<std::string>{"action", "uploadId", "s3Key", "uploadToken", "partNumbers"}));
    BOOST_TEST(v.at("action").as_string() == "presign");
    auto ps = served<p::presign_req>(p::request_json(presign));
    BOOST_TEST(same(ps.upload, ref));
    BOOST_TEST((ps.part_numbers == std::vector<std::uint32_t>{22, 21, 10000}));

    p::complete_request complete{ref, {{1, "\"e1\"", "crc-not-sent"}, {2, "\"e2\"", ""}}};
    v = json::parse(p::request_json(complete));
    BOOST_TEST((keys_of(v.as_object()) == std::set<std::string>{"action", "uploadId", "s3Key", "uploadToken", "parts"}));
    BOOST_TEST((keys_of(v.at("parts").at(0).as_object()) == std::set<std::string>{"PartNumber", "ETag"}));
    auto c = served<p::complete_req>(p::request_json(complete));
    BOOST_TEST(same(c.upload, ref));
    BOOST_TEST_REQUIRE(c.parts.size() == 2u);
    BOOST_TEST(c.parts[1].part_number == 2u);
    BOOST_TEST(c.parts[1].etag == "\"e2\"");
    BOOST_TEST(c.parts[0].checksum_crc32c.empty());

    p::abort_request abort{ref};
    BOOST_TEST(json::parse(p::request_json(abort)).at("action").as_string() == "abort");
    BOOST_TEST(same(served<p::abort_req>(p::request_json(abort)).upload, ref));

    p::list_parts_request list{ref};
    BOOST_TEST(json::parse(p::request_json(list)).at("action").as_string() == "list-parts");
    auto l = served<p::list_parts_req>(p::request_json(list));
    BOOST_TEST(same(l.upload, ref));
    BOOST_TEST(p::action_name(p::api_request(l)) == "list-parts");
}

// ---- answers: service -> client --------------------------------------------------

BOOST_AUTO_TEST_CASE(expires_at_is_javascript_iso_time) {
    BOOST_TEST(p::format_expires_at(0) == "1970-01-01T00:00:00.000Z");
    BOOST_TEST(p::format_expires_at(1700000000) == "2023-11-14T22:13:20.000Z");
    BOOST_TEST(p::format_expires_at(951782400) == "2000-02-29T00:00:00.000Z");
    BOOST_TEST(p::format_expires_at(4102444799) == "2099-12-31T23:59:59.000Z");
}

BOOST_AUTO_TEST_CASE(expires_at_parses_back) {
    for (std::int64_t t : {std::int64_t{0}, std::int64_t{1}, std::int64_t{951782400}, std::int64_t{1700000000},
                           std::int64_t{1714564800}, std::int64_t{4102444799}}) {
        BOOST_TEST_CONTEXT("t = " << t) {
            auto back = p::parse_expires_at(p::format_expires_at(t));
            BOOST_TEST_REQUIRE(back.has_value());
            BOOST_TEST(*back == t);
        }
    }
    // Other writers' fractions: none, or 1 to 9 digits, dropped.
    BOOST_TEST(p::parse_expires_at("2024-05-01T12:00:00Z").value_or(-1) == 1714564800);
    BOOST_TEST(p::parse_expires_at("2024-05-01T12:00:00.9Z").value_or(-1) == 1714564800);
    BOOST_TEST(p::parse_expires_at("2024-05-01T12:00:00.123456789Z").value_or(-1) == 1714564800);
    BOOST_TEST(p::parse_expires_at("2024-02-29T00:00:00.000Z").has_value());
    for (const char* bad :
         {"", "2024-05-01", "2024-05-01T12:00:00.000", "2024-05-01T12:00:00.000z", "2024-05-01t12:00:00.000Z",
          "2024-05-01 12:00:00.000Z", "2024-13-01T12:00:00.000Z", "2024-00-01T12:00:00.000Z", "2023-02-29T12:00:00.000Z",
          "2024-04-31T12:00:00.000Z", "2024-05-01T24:00:00.000Z", "2024-05-01T12:60:00.000Z", "2024-05-01T12:00:60.000Z",
          "2024-05-01T12:00:00.Z", "2024-05-01T12:00:00.0000000000Z", "2024-05-01T12:00:00.000Z ",
          "+02024-05-01T12:00:00.000Z", "2024-5-01T12:00:00.000Z", "2024-05-01T12:00:00+00:00", "1714564800",
          "2024-05-01T12:00:00.00xZ"}) {
        BOOST_TEST_CONTEXT("'" << bad << "'") { BOOST_TEST(!p::parse_expires_at(bad)); }
    }
}

BOOST_AUTO_TEST_CASE(start_answer_round_trip) {
    p::start_response start{"UP-1", "uploads/alice/alice_1_m.bin", "alice_1_m.bin",
                            {{1, "https://h/u?partNumber=1&a=b"}, {2, "https://h/u?partNumber=2"}},
                            "v1.2.sig", 8 * p::mib, 1700000000};
    const std::string body = p::response_json(start);
    json::value v = json::parse(body);
    BOOST_TEST((keys_of(v.as_object()) == std::set<std::string>{"uploadId", "s3Key", "uniqueFileName", "presignedUrls",
                                                                  "uploadToken", "partSize", "expiresAt"}));
    BOOST_TEST((keys_of(v.at("presignedUrls").at(0).as_object()) == std::set<std::string>{"partNumber", "url"}));
    BOOST_TEST(v.at("expiresAt").as_string() == "2023-11-14T22:13:20.000Z");

    auto back = p::parse_start_response(body);
    BOOST_TEST(back.upload_id == start.upload_id);
    BOOST_TEST(back.s3_key == start.s3_key);
    BOOST_TEST(back.unique_file_name == start.unique_file_name);
    BOOST_TEST(same(back.presigned_urls, start.presigned_urls));
    BOOST_TEST(back.upload_token == start.upload_token);
    BOOST_TEST(back.part_size == start.part_size);
    BOOST_TEST(back.expires_at == start.expires_at);
}

// The product's start answer: presignedUrls is a list of URL strings.
BOOST_AUTO_TEST_CASE(start_without_file_size_answer_round_trip) {
    p::start_parts_response start{"UP-1", "uploads/alice/alice_1_m.bin", "alice_1_m.bin",
                                  {"https://h/u?partNumber=1&a=b", "https://h/u?partNumber=2"}, "v1.2.sig",
                                  1700000000};
    const std::string body = p::response_json(start);
    json::value v = json::parse(body);
    BOOST_TEST((keys_of(v.as_object()) == std::set<std::string>{"uploadId", "s3Key", "uniqueFileName", "presignedUrls",
                                                                  "uploadToken", "expiresAt"}));
    BOOST_TEST(v.at("presignedUrls") == json::parse(R"(["https://h/u?partNumber=1&a=b","https://h/u?partNumber=2"])"));
    auto back = p::parse_start_parts_response(body);
    BOOST_TEST(back.upload_id == start.upload_id);
    BOOST_TEST(back.s3_key == start.s3_key);
    BOOST_TEST(back.unique_file_name == start.unique_file_name);
    BOOST_TEST((back.presigned_urls == start.presigned_urls));
    BOOST_TEST(back.upload_token == start.upload_token);
    BOOST_TEST(back.expires_at == start.expires_at);

    // A list item that is not a URL string is named.
    auto broken = [&](json::value item) {
        json::object o = v.as_object();
        o["presignedUrls"].as_array()[1] = std::move(item);
        try {
            p::parse_start_parts_response(json::serialize(o));
            BOOST_ERROR("no wire_error");
            return std::string();
        } catch (const p::wire_error& e) {
            return std::string(e.what());
        }
    };
    BOOST_TEST(broken(json::object{{"partNumber", 2}, {"url", "x"}}) == "start answer: presignedUrls[1]: expected a string");
    BOOST_TEST(broken("") == "start answer: presignedUrls[1]: must not be empty");
    BOOST_TEST(broken("https://h/a b") == "start answer: presignedUrls[1]: must be visible ASCII");
}

BOOST_AUTO_TEST_CASE(other_answers_round_trip) {
    p::complete_response complete{"alice_1_m.bin", "https://h/bucket/k", "\"abc-2\"", 104857600};
    std::string body = p::response_json(complete);
    BOOST_TEST((keys_of(json::parse(body).as_object()) ==
                std::set<std::string>{"success", "uniqueFileName", "location", "etag", "size"}));
    BOOST_TEST(json::parse(body).at("success").as_bool());
    auto c = p::parse_complete_response(body);
    BOOST_TEST(c.unique_file_name == complete.unique_file_name);
    BOOST_TEST(c.location == complete.location);
    BOOST_TEST(c.etag == complete.etag);
    BOOST_TEST(c.size == complete.size);
    // Storage may give no ETag: an empty one is still an answer.
    BOOST_TEST(p::parse_complete_response(p::response_json(p::complete_response{"n", "", "", 0})).etag.empty());

    BOOST_TEST(p::abort_response_json() == R"({"success":true,"message":"Upload aborted"})");
    BOOST_TEST(p::response_json(p::abort_response{}) == p::abort_response_json());
    BOOST_TEST(p::parse_abort_response(p::abort_response_json()).message == "Upload aborted");

    p::presign_response presign{{{21, "https://u21"}, {22, "https://u22"}}, 0};
    body = p::response_json(presign);
    BOOST_TEST((keys_of(json::parse(body).as_object()) == std::set<std::string>{"presignedUrls", "expiresAt"}));
    auto pr = p::parse_presign_response(body);
    BOOST_TEST(same(pr.presigned_urls, presign.presigned_urls));
    BOOST_TEST(pr.expires_at == 0);

    p::list_parts_response list;
    list.parts.push_back({1, "\"e1\"", 8 * p::mib, "2024-01-01T00:00:00.000Z", "AAAAAA=="});
    list.parts.push_back({2, "\"e2\"", 3, "", ""});
    body = p::response_json(list);
    BOOST_TEST((keys_of(json::parse(body).at("parts").at(0).as_object()) ==
                std::set<std::string>{"PartNumber", "ETag", "Size"}));
    auto l = p::parse_list_parts_response(body);
    BOOST_TEST_REQUIRE(l.parts.size() == 2u);
    BOOST_TEST(l.parts[0].part_number == 1u);
    BOOST_TEST(l.parts[0].etag == "\"e1\"");
    BOOST_TEST(l.parts[0].size == 8 * p::mib);
    BOOST_TEST(l.parts[0].last_modified.empty());   // not on the wire
    BOOST_TEST(l.parts[1].size == 3u);
    BOOST_TEST(p::parse_list_parts_response(p::response_json(p::list_parts_response{})).parts.empty());

    p::single_response single{"https://put", "uploads/alice/alice_1_a.jpg", "alice_1_a.jpg", "v1.3.s", 1700000000};
    body = p::response_json(single);
    BOOST_TEST((keys_of(json::parse(body).as_object()) ==
                std::set<std::string>{"url", "s3Key", "uniqueFileName", "uploadToken", "expiresAt"}));
    auto s = p::parse_single_response(body);
    BOOST_TEST(s.url == single.url);
    BOOST_TEST(s.s3_key == single.s3_key);
    BOOST_TEST(s.unique_file_name == single.unique_file_name);
    BOOST_TEST(s.upload_token == single.upload_token);
    BOOST_TEST(s.expires_at == single.expires_at);

    p::proxied_part_response part{7, "\"e7\""};
    body = p::response_json(part);
    BOOST_TEST(body == R"({"PartNumber":7,"ETag":"\"e7\""})");
    auto pp = p::parse_proxied_part_response(body);
    BOOST_TEST(pp.part_number == 7u);
    BOOST_TEST(pp.etag == "\"e7\"");

    BOOST_TEST(p::response_json(p::health_response{}) == R"({"status":"ok"})");
}

BOOST_AUTO_TEST_CASE(answers_may_carry_more_than_the_contract) {
    json::object o = json::parse(p::response_json(p::presign_response{{{3, "https://u3"}}, 1700000000})).as_object();
    o["newField"] = json::array{1, 2};
    o["presignedUrls"].as_array()[0].as_object()["checksum"] = "x";
    auto r = p::parse_presign_response(json::serialize(o));
    BOOST_TEST_REQUIRE(r.presigned_urls.size() == 1u);
    BOOST_TEST(r.presigned_urls[0].url == "https://u3");
}

// Every malformed answer names the answer and the field, exactly.
BOOST_AUTO_TEST_CASE(malformed_answers_name_the_field) {
    const json::object start = json::parse(p::response_json(p::start_response{
        "UP-1", "uploads/alice/alice_1_m.bin", "alice_1_m.bin", {{1, "https://u1"}, {2, "https://u2"}, {3, "https://u3"}},
        "v1.2.sig", 8 * p::mib, 1700000000})).as_object();
    const json::object complete =
        json::parse(p::response_json(p::complete_response{"m.bin", "https://h/b/k", "\"e\"", 5})).as_object();
    const json::object list =
        json::parse(p::response_json(p::list_parts_response{{{1, "\"e1\"", 5, "", ""}, {2, "\"e2\"", 5, "", ""}}}))
            .as_object();
    const json::object single =
        json::parse(p::response_json(p::single_response{"https://put", "k/a", "a", "v1.3.s", 1})).as_object();
    const json::object presign = json::parse(p::response_json(p::presign_response{{{4, "https://u4"}}, 1})).as_object();
    const json::object abort = json::parse(p::abort_response_json()).as_object();
    const json::object part = json::parse(p::response_json(p::proxied_part_response{1, "\"e\""})).as_object();

    using parse_fn = std::function<void(std::string_view)>;
    const parse_fn parse_start = [](std::string_view b) { p::parse_start_response(b); };
    const parse_fn parse_complete = [](std::string_view b) { p::parse_complete_response(b); };
    const parse_fn parse_list = [](std::string_view b) { p::parse_list_parts_response(b); };
    const parse_fn parse_single = [](std::string_view b) { p::parse_single_response(b); };
    const parse_fn parse_presign = [](std::string_view b) { p::parse_presign_response(b); };
    const parse_fn parse_abort = [](std::string_view b) { p::parse_abort_response(b); };
    const parse_fn parse_part = [](std::string_view b) { p::parse_proxied_part_response(b); };

    struct bad_answer {
        const json::object& valid;
        parse_fn parse;
        std::function<void(json::object&)> edit;
        std::string message;
    };
    const std::vector<bad_answer> cases = {
        {start, parse_start, [](auto& o) { o["presignedUrls"].as_array()[2].as_object()["url"] = 5; },
         "start answer: presignedUrls[2].url: expected a string"},
        {start, parse_start, [](auto& o) { o["presignedUrls"].as_array()[2].as_object().erase("url"); },
         "start answer: presignedUrls[2].url: missing"},
        {start, parse_start, [](auto& o) { o["presignedUrls"].as_array()[1].as_object()["partNumber"] = 0; },
         "start answer: presignedUrls[1].partNumber: expected a whole number from 1 to 10000"},
        {start, parse_start, [](auto& o) { o["presignedUrls"].as_array()[0] = "https://u1"; },
         "start answer: presignedUrls[0]: expected an object"},
        {start, parse_start, [](auto& o) { o["presignedUrls"] = json::object{}; },
         "start answer: presignedUrls: expected an array"},
        {start, parse_start, [](auto& o) { o.erase("uploadId"); }, "start answer: uploadId: missing"},
        {start, parse_start, [](auto& o) { o["uploadId"] = nullptr; }, "start answer: uploadId: missing"},
        {start, parse_start, [](auto& o) { o["uploadId"] = "has space"; }, "start answer: uploadId: must be visible ASCII"},
        {start, parse_start, [](auto& o) { o["uploadToken"] = ""; }, "start answer: uploadToken: must not be empty"},
        {start, parse_start, [](auto& o) { o["s3Key"] = "a\nb"; }, "start answer: s3Key: contains a control character"},
        {start, parse_start, [](auto& o) { o["partSize"] = -1; },
         "start answer: partSize: expected a whole number from 1 to 5368709120"},
        {start, parse_start, [](auto& o) { o["partSize"] = "8388608"; },
         "start answer: partSize: expected a whole number from 1 to 5368709120"},
        {start, parse_start, [](auto& o) { o["expiresAt"] = "tomorrow"; },
         "start answer: expiresAt: expected an ISO 8601 UTC time like 2024-05-01T12:00:00.000Z"},
        {start, parse_start, [](auto& o) { o["expiresAt"] = 1700000000; },
         "start answer: expiresAt: expected an ISO 8601 UTC time like 2024-05-01T12:00:00.000Z"},
        {complete, parse_complete, [](auto& o) { o["success"] = false; }, "complete answer: success: expected true"},
        {complete, parse_complete, [](auto& o) { o["success"] = "true"; }, "complete answer: success: expected true"},
        {complete, parse_complete, [](auto& o) { o.erase("etag"); }, "complete answer: etag: missing"},
        {complete, parse_complete, [](auto& o) { o["size"] = 1.5; },
         "complete answer: size: expected a whole number from 0 to 18446744073709551615"},
        {list, parse_list, [](auto& o) { o["parts"].as_array()[1].as_object()["ETag"] = 7; },
         "list-parts answer: parts[1].ETag: expected a string"},
        {list, parse_list, [](auto& o) { o["parts"].as_array()[0].as_object().erase("Size"); },
         "list-parts answer: parts[0].Size: missing"},
        {single, parse_single, [](auto& o) { o.erase("url"); }, "single answer: url: missing"},
        {single, parse_single, [](auto& o) { o["uniqueFileName"] = json::array{}; },
         "single answer: uniqueFileName: expected a string"},
        {presign, parse_presign, [](auto& o) { o.erase("expiresAt"); }, "presign answer: expiresAt: missing"},
        {abort, parse_abort, [](auto& o) { o.erase("success"); }, "abort answer: success: missing"},
        {part, parse_part, [](auto& o) { o["PartNumber"] = 10001; },
         "part answer: PartNumber: expected a whole number from 1 to 10000"},
    };
    for (const auto& c : cases) {
        json::object o = c.valid;
        c.edit(o);
        const std::string body = json::serialize(o);
        BOOST_TEST_CONTEXT(body) {
            BOOST_CHECK_NO_THROW(c.parse(json::serialize(c.valid)));
            try {
                c.parse(body);
                BOOST_ERROR("no wire_error");
            } catch (const p::wire_error& e) {
                BOOST_TEST(e.what() == c.message);
            }
        }
    }

    // Not an object at all.
    BOOST_CHECK_EXCEPTION(p::parse_presign_response("[]"), p::wire_error,
                          [](const auto& e) { return std::string(e.what()) == "presign answer: not a JSON object"; });
    BOOST_CHECK_EXCEPTION(p::parse_start_response("<html>502</html>"), p::wire_error, [](const auto& e) {
        return std::string(e.what()).starts_with("start answer: not valid JSON (");
    });
    BOOST_CHECK_THROW(p::parse_complete_response(""), p::wire_error);
}

// ---- errors ------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(error_answers_round_trip) {
    p::api_error e(400, "invalid_request", "fileName is \"odd\"\nreally");
    const std::string body = p::error_json(e);
    json::value v = json::parse(body);
    BOOST_TEST((keys_of(v.as_object()) == std::set<std::string>{"error"}));
    BOOST_TEST((keys_of(v.at("error").as_object()) == std::set<std::string>{"code", "message"}));

    auto back = p::parse_error_response(body, 400);
    BOOST_TEST_REQUIRE(back.has_value());
    BOOST_TEST(back->status == 400);
    BOOST_TEST(back->code == "invalid_request");
    BOOST_TEST(back->message == "fileName is \"odd\"\nreally");
    BOOST_TEST(std::string(back->what()) == back->message);
    // The status is the HTTP status the body came with.
    auto relayed = p::parse_error_response(p::error_json(p::api_error(502, "storage_error", "x")), 503);
    BOOST_TEST_REQUIRE(relayed.has_value());
    BOOST_TEST(relayed->status == 503);

    for (const char* other : {"", "<html>bad gateway</html>", "{}", "[]", R"({"error":"x"})",
                              R"({"error":{"message":"no code"}})", R"({"error":{"code":1,"message":"m"}})",
                              R"({"error":{"code":"c"}})", R"({"message":"Internal"})"}) {
        BOOST_TEST_CONTEXT("'" << other << "'") { BOOST_TEST(!p::parse_error_response(other, 500)); }
    }
}

BOOST_AUTO_TEST_SUITE_END()
