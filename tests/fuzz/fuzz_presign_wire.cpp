// The presign service's JSON wire format (protocol/presign/wire.hpp), from both
// sides: the requests `hoist serve` accepts from any caller, and the answers
// the `--via` client accepts from a service.
//
// Input: one selector byte, then the JSON body.
//   0, 1  parse_api_request with config A (defaults) or B (allowed extensions,
//         small url_batch, small single_put_max and body limit)
//   2..8  the client's answer parsers (start, complete, abort, presign,
//         list-parts, single, proxied part)
//   9     parse_error_response
//   10    parse_proxy_part_target (the part proxy's request target)
//   11    user_for_bearer (an Authorization header)
//   12    verify_upload_token (an uploadToken), and tokens signed for the
//         input as key verify
// Invariants beyond "no crash": only api_error (service, 400/413) or
// wire_error (client) is thrown; an error message never carries the request's
// uploadToken; an accepted request, rendered again with request_json, is
// accepted as the same request (so the sanitized file name is stable); a
// parsed answer, rendered with response_json, parses to the same answer; a
// parsed proxy target rebuilt with proxy_part_target parses to the same.
#include "fuzz_check.hpp"

#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/proxy_route.hpp"
#include "hoist/protocol/presign/wire.hpp"

#include <boost/json.hpp>

#include <string>
#include <variant>

namespace {

namespace p = hoist::protocol;
namespace json = boost::json;

const p::service_config& config_a() {
    static const p::service_config cfg = p::parse_service_config(R"({
        "storage": {"endpoint": "https://127.0.0.1:9000", "region": "us-east-1", "bucket": "upload-bucket"},
        "token_secret": "0123456789abcdef0123456789abcdef",
        "tokens": [{"sha256": "0000000000000000000000000000000000000000000000000000000000000000", "user": "alice"}]
    })");
    return cfg;
}

const p::service_config& config_b() {
    static const p::service_config cfg = p::parse_service_config(R"({
        "storage": {"region": "eu-west-1", "bucket": "b.dotted.name"},
        "token_secret": "0123456789abcdef0123456789abcdef",
        "tokens": [{"sha256": "1111111111111111111111111111111111111111111111111111111111111111", "user": "bob"}],
        "allowed_extensions": ["bin", ".TAR.gz", "safetensors"],
        "part_size": 5242880, "url_batch": 3, "single_put_max": 1000, "max_body_bytes": 2048,
        "max_file_size": 1000000000
    })");
    return cfg;
}

// The uploadToken of a body, when it is one no error message could contain by
// chance: messages are made of field names, fixed words and numbers, never of
// these characters.
std::string tell_tale_token(std::string_view body) {
    json::error_code ec;
    const json::value v = json::parse(body, ec);
    if (ec || !v.is_object()) return {};
    const json::value* t = v.get_object().if_contains("uploadToken");
    if (!t || !t->is_string() || t->get_string().size() < 8) return {};
    const std::string token(t->get_string());
    return token.find_first_of("#$*<>?@^`|~") == std::string::npos ? std::string{} : token;
}

std::string rendered(const p::api_request& r) {
    return std::visit(
        [](const auto& req) -> std::string {
            using T = std::decay_t<decltype(req)>;
            if constexpr (std::is_same_v<T, p::start_req>) {
                return p::request_json(p::start_request{req.file_name, req.file_size, req.content_type,
                                                         req.plan.part_count});
            } else if constexpr (std::is_same_v<T, p::start_parts_req>) {
                return p::request_json(p::start_parts_request{req.file_name, req.total_parts, req.content_type});
            } else if constexpr (std::is_same_v<T, p::single_req>) {
                return p::request_json(p::single_request{req.file_name, req.file_size, req.content_type});
            } else {
                return p::request_json(req);
            }
        },
        r);
}

void check_request(std::string_view body, const p::service_config& config) {
    p::api_request first;
    try {
        first = p::parse_api_request(body, config);
    } catch (const p::api_error& e) {
        HOIST_FUZZ_CHECK(e.status == 400 || e.status == 413);
        HOIST_FUZZ_CHECK(!e.code.empty() && !e.message.empty());
        if (const std::string token = tell_tale_token(body); !token.empty())
            HOIST_FUZZ_CHECK(e.message.find(token) == std::string::npos);
        return;
    }
    // Accepted: what the client would send for it is accepted as the same.
    const std::string again = rendered(first);
    p::api_request second;
    try {
        second = p::parse_api_request(again, config);
    } catch (const p::api_error& e) {
        std::fprintf(stderr, "re-rendered request refused: %s\n%s\n", e.message.c_str(), again.c_str());
        HOIST_FUZZ_CHECK(!"an accepted request, rendered again, is refused");
    }
    HOIST_FUZZ_CHECK(first.index() == second.index());
    HOIST_FUZZ_CHECK(p::action_name(first) == p::action_name(second));
    HOIST_FUZZ_CHECK(rendered(second) == again);
    if (const auto* s = std::get_if<p::start_req>(&first)) {
        const auto& t = std::get<p::start_req>(second);
        HOIST_FUZZ_CHECK(s->plan.part_count == t.plan.part_count && s->plan.part_size == t.plan.part_size &&
                         s->plan.last_part_size == t.plan.last_part_size);
        HOIST_FUZZ_CHECK(s->file_size <= config.max_file_size);
    }
    if (const auto* s = std::get_if<p::single_req>(&first)) HOIST_FUZZ_CHECK(s->file_size <= config.single_put_max);
}

template <class Parse>
void check_answer(std::string_view body, Parse parse) {
    try {
        const auto first = parse(body);
        const std::string json1 = p::response_json(first);
        const auto second = parse(json1);
        HOIST_FUZZ_CHECK(p::response_json(second) == json1);
    } catch (const p::wire_error& e) {
        HOIST_FUZZ_CHECK(*e.what() != '\0');
    }
}

void check_proxy_target(std::string_view target) {
    p::proxy_part_ref ref;
    try {
        ref = p::parse_proxy_part_target(target);
    } catch (const p::api_error& e) {
        HOIST_FUZZ_CHECK(e.status == 400 || e.status == 404);
        return;
    }
    HOIST_FUZZ_CHECK(!ref.upload_id.empty() && !ref.key.empty());
    HOIST_FUZZ_CHECK(ref.part_number >= 1 && ref.part_number <= 10000);
    const p::proxy_part_ref again = p::parse_proxy_part_target(p::proxy_part_target(ref));
    HOIST_FUZZ_CHECK(again.upload_id == ref.upload_id && again.key == ref.key &&
                     again.part_number == ref.part_number);
}

void check_tokens(std::string_view text) {
    const auto& config = config_a();
    (void)p::verify_upload_token(config.token_secret, text, "alice", "uploads/alice/k", "UP", 1700000000);
    // The input as key and upload id: a token signed for them verifies, until
    // it expires, and for nothing else.
    const std::string key(text.substr(0, text.size() / 2)), id(text.substr(text.size() / 2));
    if (key.find('\n') != std::string::npos || id.find('\n') != std::string::npos) return;
    const std::string token = p::sign_upload_token(config.token_secret, "alice", key, id, 1700000000);
    HOIST_FUZZ_CHECK(p::verify_upload_token(config.token_secret, token, "alice", key, id, 1699999999) ==
                     p::token_status::ok);
    HOIST_FUZZ_CHECK(p::verify_upload_token(config.token_secret, token, "alice", key, id, 1700000000) ==
                     p::token_status::expired);
    HOIST_FUZZ_CHECK(p::verify_upload_token(config.token_secret, token, "bob", key, id, 0) ==
                     p::token_status::bad_signature);
    HOIST_FUZZ_CHECK(p::verify_upload_token(config.token_secret, token, "alice", key + "x", id, 0) ==
                     p::token_status::bad_signature);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view body = hoist::fuzz::as_text(data + 1, size - 1);
    try {
        switch (data[0] % 13) {
        case 0: check_request(body, config_a()); break;
        case 1: check_request(body, config_b()); break;
        case 2: check_answer(body, p::parse_start_response); break;
        case 3: check_answer(body, p::parse_complete_response); break;
        case 4: check_answer(body, p::parse_abort_response); break;
        case 5: check_answer(body, p::parse_presign_response); break;
        case 6: check_answer(body, p::parse_list_parts_response); break;
        case 7: check_answer(body, p::parse_single_response); break;
        case 8: check_answer(body, p::parse_proxied_part_response); break;
        case 9:
            if (const auto e = p::parse_error_response(body, 418)) {
                HOIST_FUZZ_CHECK(e->status == 418);
                const auto again = p::parse_error_response(p::error_json(*e), 418);
                HOIST_FUZZ_CHECK(again && again->code == e->code && again->message == e->message);
            }
            break;
        case 10: check_proxy_target(body); break;
        case 11:
            if (const auto user = p::user_for_bearer(config_a(), body)) HOIST_FUZZ_CHECK(*user == "alice");
            break;
        case 12: check_tokens(body); break;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        HOIST_FUZZ_CHECK(!"only api_error / wire_error may escape");
    }
    return 0;
}
