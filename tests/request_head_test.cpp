// hoist serve's decisions on a request head, on bytes in memory (no sockets):
// routes and 405s, and every head refused before routing, whole and split at
// every byte as two socket reads could deliver it.
#include "request_head.hpp"

#include <boost/asio/error.hpp>
#include <boost/test/unit_test.hpp>

#include <string>

namespace d = hoist::engine::detail;
using outcome = d::head_decision::outcome;
namespace http = boost::beast::http;

namespace {

constexpr std::size_t limit = 16 * 1024;

d::head_decision decide_split_everywhere(const std::string& bytes) {
    auto whole = d::decide_head(bytes, limit);
    for (std::size_t split = 1; split < bytes.size(); ++split) {
        auto parts = d::decide_head(bytes, limit, split);
        BOOST_TEST_CONTEXT("split at " << split) {
            if (whole.what == outcome::routed) {   // a good head is routed the same way however it arrives
                BOOST_TEST((parts.what == outcome::routed));
                BOOST_TEST((parts.route.kind == whole.route.kind));
                BOOST_TEST(parts.head_size == whole.head_size);
            } else {
                // A bad one is never routed. (Beast may see a bare LF only in
                // one piece's scan: the split one then waits for more, which
                // the head deadline or header limit ends.)
                BOOST_TEST((parts.what != outcome::routed));
            }
        }
    }
    return whole;
}

} // namespace

BOOST_AUTO_TEST_SUITE(request_head)

BOOST_AUTO_TEST_CASE(routes_by_method_and_path) {
    struct row {
        http::verb method;
        const char* target;
        d::route_kind kind;
        const char* name;
        const char* allow;
    };
    const row rows[] = {
        {http::verb::get, "/healthz", d::route_kind::healthz, "/healthz", ""},
        {http::verb::get, "/healthz?x=1", d::route_kind::healthz, "/healthz", ""},
        {http::verb::head, "/healthz", d::route_kind::method_not_allowed, "/healthz", "GET"},
        {http::verb::get, "/metrics", d::route_kind::metrics, "/metrics", ""},
        {http::verb::delete_, "/metrics", d::route_kind::method_not_allowed, "/metrics", "GET"},
        {http::verb::post, "/v1/presigned-upload", d::route_kind::presigned_upload, "/v1/presigned-upload", ""},
        {http::verb::get, "/v1/presigned-upload", d::route_kind::method_not_allowed, "/v1/presigned-upload",
         "POST, OPTIONS"},
        {http::verb::put, "/v1/uploads/U/parts/1?key=k", d::route_kind::proxy_part,
         "/v1/uploads/{uploadId}/parts/{n}", ""},
        {http::verb::post, "/v1/uploads/U/parts/1", d::route_kind::method_not_allowed,
         "/v1/uploads/{uploadId}/parts/{n}", "PUT, OPTIONS"},
        {http::verb::options, "/anything", d::route_kind::preflight, "preflight", ""},
        {http::verb::get, "/", d::route_kind::static_file, "/", ""},
        {http::verb::head, "/?x=1", d::route_kind::static_file, "/", ""},
        {http::verb::get, "/assets/app.mjs", d::route_kind::static_file, "/assets/{path}", ""},
        {http::verb::head, "/assets/", d::route_kind::static_file, "/assets/{path}", ""},
        {http::verb::post, "/", d::route_kind::method_not_allowed, "/", "GET, HEAD"},
        {http::verb::put, "/assets/x", d::route_kind::method_not_allowed, "/assets/{path}", "GET, HEAD"},
        {http::verb::get, "/assets", d::route_kind::not_found, "other", ""},
        {http::verb::get, "/nowhere", d::route_kind::not_found, "other", ""},
        {http::verb::get, "/healthz/", d::route_kind::not_found, "other", ""},
        {http::verb::unknown, "/healthz", d::route_kind::method_not_allowed, "/healthz", "GET"},
        // The browser routes (protocol/presign/browser_routes.hpp): several methods per path.
        {http::verb::post, "/v1/session", d::route_kind::browser, "/v1/session", ""},
        {http::verb::delete_, "/v1/session", d::route_kind::browser, "/v1/session", ""},
        {http::verb::get, "/v1/session", d::route_kind::method_not_allowed, "/v1/session", "POST, DELETE, OPTIONS"},
        {http::verb::post, "/v1/sign-request", d::route_kind::browser, "/v1/sign-request", ""},
        {http::verb::get, "/s3/multipart/U/3?key=k", d::route_kind::browser, "/s3/multipart/{uploadId}/{partNumber}", ""},
        {http::verb::put, "/s3/multipart/U?key=k", d::route_kind::method_not_allowed, "/s3/multipart/{uploadId}",
         "GET, DELETE, OPTIONS"},
        {http::verb::options, "/s3/multipart", d::route_kind::preflight, "preflight", ""},
        {http::verb::get, "/s3/nothing", d::route_kind::not_found, "other", ""},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.target << " " << http::to_string(r.method)) {
            auto m = d::match_route(r.method, r.target);
            BOOST_TEST((m.kind == r.kind));
            BOOST_TEST(m.name == r.name);
            BOOST_TEST(m.allow == r.allow);
        }
    }
}

// config "api_path": the JSON API moves; the old path is then no route at all.
BOOST_AUTO_TEST_CASE(the_json_api_path_comes_from_the_config) {
    const std::string api = "/api/upload";
    auto m = d::match_route(http::verb::post, "/api/upload?x=1", api);
    BOOST_TEST((m.kind == d::route_kind::presigned_upload));
    BOOST_TEST(m.name == "/api/upload");
    m = d::match_route(http::verb::get, "/api/upload", api);
    BOOST_TEST((m.kind == d::route_kind::method_not_allowed));
    BOOST_TEST(m.allow == "POST, OPTIONS");
    for (const char* other : {"/v1/presigned-upload", "/api/upload/", "/api/uploadx", "/api", "/API/upload"})
        BOOST_TEST((d::match_route(http::verb::post, other, api).kind == d::route_kind::not_found), other);
    // The fixed routes stay where they are.
    BOOST_TEST((d::match_route(http::verb::get, "/healthz", api).kind == d::route_kind::healthz));
    BOOST_TEST((d::match_route(http::verb::put, "/v1/uploads/U/parts/1", api).kind == d::route_kind::proxy_part));
    auto routed = d::decide_head("POST /api/upload HTTP/1.1\r\nHost: x\r\n\r\n", 8192, 0, api);
    BOOST_TEST((routed.what == outcome::routed));
    BOOST_TEST((routed.route.kind == d::route_kind::presigned_upload));
}

BOOST_AUTO_TEST_CASE(well_formed_heads_are_routed_however_they_arrive) {
    auto d1 = decide_split_everywhere("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n");
    BOOST_TEST((d1.what == outcome::routed));
    BOOST_TEST((d1.route.kind == d::route_kind::healthz));
    BOOST_TEST(d1.head_size == 34u);
    auto d2 = decide_split_everywhere("POST /v1/presigned-upload HTTP/1.0\r\nContent-Length: 2\r\n\r\n{}");
    BOOST_TEST((d2.what == outcome::routed));
    BOOST_TEST((d2.route.kind == d::route_kind::presigned_upload));
    BOOST_TEST(d2.head_size == 57u);   // the body is not part of the head
    auto chunked = decide_split_everywhere("POST /v1/presigned-upload HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n");
    BOOST_TEST((chunked.what == outcome::routed));
    // Not yet a whole head: the service would read on.
    BOOST_TEST((d::decide_head("GET /healthz HTTP/1.1\r\nHost:", limit).what == outcome::incomplete));
    BOOST_TEST((d::decide_head("", limit).what == outcome::incomplete));
}

BOOST_AUTO_TEST_CASE(hostile_heads_are_refused_with_a_reason) {
    struct row {
        const char* what;
        std::string bytes;
        unsigned status;
        const char* reason;
    };
    const std::string post = "POST /v1/presigned-upload HTTP/1.1\r\nHost: x\r\n";
    const row rows[] = {
        {"HTTP/0.9", "GET /healthz\r\n\r\n", 400, "bad_request_line"},
        {"garbage", std::string("\x16\x03\x01\x02\x00\x01", 6) + "\r\n\r\n", 400, "bad_request_line"},
        {"NUL in the method", std::string("G\0T / HTTP/1.1\r\n\r\n", 18), 400, "bad_request_line"},
        {"no target", "GET  HTTP/1.1\r\n\r\n", 400, "bad_request_line"},
        {"bad field name", "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n", 400, "bad_header"},
        {"bare LF", "GET / HTTP/1.1\nHost: x\n\n", 400, "bad_request_line"},
        {"CL then TE", post + "Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n", 400, "bad_transfer_encoding"},
        {"TE then CL", post + "Transfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n", 400, "bad_content_length"},
        {"TE gzip", post + "Transfer-Encoding: gzip\r\n\r\n", 400, "bad_transfer_encoding"},
        {"TE gzip, chunked", post + "Transfer-Encoding: gzip, chunked\r\n\r\n", 400, "bad_transfer_encoding"},
        {"negative CL", post + "Content-Length: -1\r\n\r\n", 400, "bad_content_length"},
        {"huge CL", post + "Content-Length: 99999999999999999999999\r\n\r\n", 400, "bad_content_length"},
        {"non-numeric CL", post + "Content-Length: ten\r\n\r\n", 400, "bad_content_length"},
        {"empty CL", post + "Content-Length: \r\n\r\n", 400, "bad_content_length"},
        {"two CLs", post + "Content-Length: 2\r\nContent-Length: 3\r\n\r\n", 400, "bad_content_length"},
        {"two equal CLs", post + "Content-Length: 2\r\nContent-Length: 2\r\n\r\n", 400, "bad_content_length"},
        {"a CL list", post + "Content-Length: 2, 2\r\n\r\n", 400, "bad_content_length"},
        {"HTTP/2.0 (Beast reads only 1.x)", "GET /healthz HTTP/2.0\r\n\r\n", 400, "bad_request_line"},
        {"HTTP/0.9 with headers", "GET /healthz HTTP/0.9\r\n\r\n", 400, "bad_request_line"},
        {"HTTP/1.2", "GET /healthz HTTP/1.2\r\n\r\n", 400, "bad_request_line"},
        {"header over the limit", "GET / HTTP/1.1\r\nX: " + std::string(limit, 'a') + "\r\n\r\n", 431,
         "header_too_large"},
        {"an unfinished header over the limit", "GET / HTTP/1.1\r\nX: " + std::string(limit, 'a'), 431,
         "header_too_large"},
    };
    for (const auto& r : rows) {
        BOOST_TEST_CONTEXT(r.what) {
            auto d = d::decide_head(r.bytes, limit);
            BOOST_TEST((d.what == outcome::refused));
            BOOST_TEST(d.refusal.status == r.status);
            BOOST_TEST(d.refusal.reason == r.reason);
            BOOST_TEST(!d.refusal.code.empty());
            BOOST_TEST(!d.refusal.message.empty());
            // However the bytes arrive (short ones: every split).
            if (r.bytes.size() < 200) decide_split_everywhere(r.bytes);
        }
    }
}

BOOST_AUTO_TEST_CASE(the_header_limit_bounds_the_whole_head_however_it_arrives) {
    // Found by the fuzz target: Beast's header_limit applies to the request
    // line and to the field block separately when the head comes in one read
    // (a 67-byte head passed a 64-byte limit) but to the whole head when it
    // comes in several. check_head bounds the whole head either way.
    const std::string line = "GET / HTTP/1.1\r\n";                            // 16 bytes
    const std::string fields = "X-Big: " + std::string(40, 'a') + "\r\n\r\n";  // 51 bytes
    for (std::size_t split : {std::size_t{0}, std::size_t{4}, std::size_t{20}, std::size_t{66}}) {
        BOOST_TEST_CONTEXT("split at " << split) {
            auto both = d::decide_head(line + fields, 64, split);
            BOOST_TEST((both.what == outcome::refused));
            BOOST_TEST(both.refusal.status == 431u);
            auto fits = d::decide_head(line + fields, 67, split);
            BOOST_TEST((fits.what == outcome::routed));
            BOOST_TEST(fits.head_size == 67u);
        }
    }
    auto long_fields = d::decide_head(line + "X-Big: " + std::string(60, 'a') + "\r\n\r\n", 64);
    BOOST_TEST((long_fields.what == outcome::refused));
    BOOST_TEST(long_fields.refusal.status == 431u);
    auto long_line = d::decide_head("GET /" + std::string(64, 'a') + " HTTP/1.1\r\n\r\n", 64);
    BOOST_TEST((long_line.what == outcome::refused));
    BOOST_TEST(long_line.refusal.status == 431u);
}

BOOST_AUTO_TEST_CASE(read_errors_with_no_one_to_answer_are_not_refusals) {
    BOOST_TEST(!d::refusal_for_read_error(http::error::end_of_stream));
    BOOST_TEST(!d::refusal_for_read_error(http::error::partial_message));
    BOOST_TEST(!d::refusal_for_read_error(boost::asio::error::connection_reset));
    BOOST_TEST(!d::refusal_for_read_error(boost::asio::error::operation_aborted));
    BOOST_TEST(!d::refusal_for_read_error({}));
    BOOST_REQUIRE(d::refusal_for_read_error(http::error::header_limit));
    BOOST_TEST(d::refusal_for_read_error(http::error::header_limit)->status == 431u);
}

BOOST_AUTO_TEST_SUITE_END()
