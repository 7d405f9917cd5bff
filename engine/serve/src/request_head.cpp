#include "request_head.hpp"

#include "hoist/protocol/presign/browser_routes.hpp"
#include "hoist/protocol/presign/proxy_route.hpp"
#include "hoist/protocol/presign/wire.hpp"

#include <boost/beast/core/string.hpp>
#include <boost/beast/http/error.hpp>

#include <algorithm>

namespace hoist::engine::detail {

namespace http = boost::beast::http;

route_match match_route(http::verb method, std::string_view target, std::string_view api_path) {
    const std::string_view path = target.substr(0, target.find('?'));
    // One row per path: the method it serves and what a 405 names in Allow.
    // OPTIONS is a CORS preflight wherever it is sent (browsers send it to
    // the path they are about to call).
    struct row {
        bool (*matches)(std::string_view);
        http::verb method;
        route_kind kind;
        std::string_view name, allow;
    };
    static constexpr row rows[] = {
        {[](std::string_view p) { return p == "/healthz"; }, http::verb::get, route_kind::healthz, "/healthz", "GET"},
        {[](std::string_view p) { return p == "/metrics"; }, http::verb::get, route_kind::metrics, "/metrics", "GET"},
        {[](std::string_view p) { return p.starts_with(protocol::proxy_route_prefix); }, http::verb::put,
         route_kind::proxy_part, protocol::proxy_route_pattern, "PUT, OPTIONS"},
    };
    if (method == http::verb::options) return {route_kind::preflight, "preflight", {}};
    // The configured JSON API path, before the fixed rows (the config keeps
    // it off their paths, so the order decides nothing).
    if (path == api_path) {
        if (method == http::verb::post) return {route_kind::presigned_upload, api_path, {}};
        return {route_kind::method_not_allowed, api_path, "POST, OPTIONS"};
    }
    // The upload page: GET and HEAD, two paths (the route names for metrics).
    if (path == "/" || path.starts_with("/assets/")) {
        const std::string_view name = path == "/" ? "/" : "/assets/{path}";
        if (method == http::verb::get || method == http::verb::head) return {route_kind::static_file, name, {}};
        return {route_kind::method_not_allowed, name, "GET, HEAD"};
    }
    // The browser routes serve several methods on one path: their own table.
    if (auto b = protocol::match_browser_route(http::to_string(method), path); !b.name.empty())
        return b.route == protocol::browser_route::none ? route_match{route_kind::method_not_allowed, b.name, b.allow}
                                                        : route_match{route_kind::browser, b.name, {}};
    for (const auto& r : rows) {
        if (!r.matches(path)) continue;
        if (method == r.method) return {r.kind, r.name, {}};
        return {route_kind::method_not_allowed, r.name, r.allow};
    }
    return {route_kind::not_found, "other", {}};
}

namespace {

constexpr head_refusal bad_content_length{400, "bad_content_length", protocol::api_code::bad_request,
                                          "Content-Length must be a single non-negative decimal number of at most "
                                          "20 digits, and not sent with Transfer-Encoding"};
constexpr head_refusal bad_transfer_encoding{400, "bad_transfer_encoding", protocol::api_code::bad_request,
                                             "Transfer-Encoding must be \"chunked\" alone, and not sent with "
                                             "Content-Length"};

} // namespace

std::optional<head_refusal> refusal_for_read_error(const boost::system::error_code& ec) {
    static const auto& http_category = http::make_error_code(http::error::bad_method).category();
    if (!ec || ec.category() != http_category) return std::nullopt;   // transport: reset, timeout, cancel
    switch (static_cast<http::error>(ec.value())) {
    case http::error::end_of_stream:
    case http::error::partial_message:   // the peer closed within a head: no one reads an answer
    case http::error::need_more:
    case http::error::need_buffer:
        return std::nullopt;
    case http::error::header_limit:
        return head_refusal{431, "header_too_large", protocol::api_code::header_too_large,
                            "the request header is larger than the service accepts"};
    case http::error::buffer_overflow:
        return head_refusal{431, "header_too_large", protocol::api_code::header_too_large,
                            "the request header is larger than the service accepts"};
    case http::error::bad_method:
    case http::error::bad_target:
    case http::error::bad_version:
        return head_refusal{400, "bad_request_line", protocol::api_code::bad_request,
                            "the request line is not \"METHOD TARGET HTTP/1.1\""};
    case http::error::bad_content_length:
    case http::error::multiple_content_length:
        return bad_content_length;
    case http::error::bad_transfer_encoding:
        return bad_transfer_encoding;
    case http::error::bad_field:
    case http::error::bad_value:
    case http::error::bad_obs_fold:
    case http::error::bad_line_ending:
        return head_refusal{400, "bad_header", protocol::api_code::bad_request, "a header line is malformed"};
    default:
        return head_refusal{400, "bad_request", protocol::api_code::bad_request, "the request could not be parsed"};
    }
}

namespace {
constexpr head_refusal header_too_large{431, "header_too_large", protocol::api_code::header_too_large,
                                       "the request header is larger than the service accepts"};
} // namespace

std::optional<head_refusal> check_head(const http::request_parser<http::empty_body>& head, std::size_t head_size,
                                       std::size_t header_limit) {
    if (head_size > header_limit) return header_too_large;
    const auto& req = head.get();
    // Beast 1.81 already refuses any version but 1.0 and 1.1 (bad_version);
    // this keeps the 505 should a later Beast read more.
    if (req.version() != 10 && req.version() != 11)
        return head_refusal{505, "http_version", protocol::api_code::http_version_not_supported,
                            "only HTTP/1.0 and HTTP/1.1 are served"};
    // Beast takes equal repeated values as one; two framings of one body are
    // how requests are smuggled past a proxy that picks the other one.
    if (req.count(http::field::content_length) > 1 ||
        req[http::field::content_length].find(',') != std::string_view::npos)
        return bad_content_length;
    if (req.count(http::field::transfer_encoding) > 1 ||
        (req.count(http::field::transfer_encoding) == 1 &&
         !boost::beast::iequals(req[http::field::transfer_encoding], "chunked")))
        return bad_transfer_encoding;
    return std::nullopt;
}

head_decision decide_head(std::string_view bytes, std::size_t header_limit, std::size_t split,
                          std::string_view api_path) {
    http::request_parser<http::empty_body> parser;
    parser.header_limit(static_cast<std::uint32_t>(std::min<std::size_t>(header_limit, UINT32_MAX)));
    parser.body_limit(boost::none);
    head_decision d;
    // As from a socket: the parser sees the first read, then everything it
    // has not consumed plus the second read (Beast's parser wants the
    // unconsumed bytes presented again, as a flat_buffer keeps them).
    split = std::min(split, bytes.size());
    std::size_t consumed = 0;
    boost::system::error_code ec;
    for (std::size_t available : {split, bytes.size()}) {
        if (available <= consumed) continue;
        ec = {};
        consumed += parser.put(boost::asio::buffer(bytes.data() + consumed, available - consumed), ec);
        if (ec == http::error::need_more) continue;
        if (ec || parser.is_header_done()) break;
    }
    if (ec && ec != http::error::need_more) {
        if (auto refusal = refusal_for_read_error(ec)) {
            d.what = head_decision::outcome::refused;
            d.refusal = *refusal;
        }
        return d;   // a read error with nothing to answer stays "incomplete"
    }
    if (!parser.is_header_done()) return d;
    if (auto refusal = check_head(parser, consumed, header_limit)) {
        d.what = head_decision::outcome::refused;
        d.refusal = *refusal;
        return d;
    }
    d.what = head_decision::outcome::routed;
    d.route = match_route(parser.get().method(), parser.get().target(), api_path);
    d.head_size = consumed;
    return d;
}

} // namespace hoist::engine::detail
