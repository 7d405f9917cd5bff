// hoist serve's browser routes. See browser_routes.hpp.
#include "browser_routes.hpp"

#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/companion.hpp"
#include "hoist/protocol/presign/names.hpp"
#include "hoist/protocol/presign/presigning.hpp"
#include "hoist/protocol/presign/session.hpp"
#include "hoist/protocol/presign/sign_request.hpp"
#include "hoist/protocol/s3/xml.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <chrono>

namespace hoist::engine::detail {

// Ceph RGW 16 answers ListParts on an aborted upload with 404 NoSuchKey
// rather than NoSuchUpload (seen against tools/rgw-local): the same "gone".
protocol::api_error storage_error(const call_result& r) {
    if (r.s3_code == "NoSuchUpload" || (r.status == 404 && r.s3_code == "NoSuchKey"))
        return protocol::api_error(404, std::string(protocol::api_code::no_such_upload),
                                   "the upload does not exist (completed or aborted)");
    return protocol::api_error(502, std::string(protocol::api_code::storage_error), "storage: " + r.error);
}

namespace {

using protocol::browser_route;

std::int64_t unix_ms_now() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

sigv4::amz_date signing_date() { return sigv4::amz_date::from(std::chrono::system_clock::now()); }

protocol::api_error unexpected_answer(std::string_view call) {
    return protocol::api_error(502, std::string(protocol::api_code::storage_error),
                               "storage: unexpected " + std::string(call) + " answer");
}

std::int64_t unix_now() {
    return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
}

protocol::authenticated caller(const protocol::service_config& config, const browser_request& req) {
    return protocol::authenticate(config,
                                  {req.authorization, req.cookie, req.origin, req.host, config.tls.has_value()},
                                  unix_now());
}

// POST /v1/session: the bearer token only (a cookie cannot renew itself, or a
// stolen one would live for ever), and from an origin that may use the
// session: otherwise a foreign page could sign a visitor in as the page's own
// user (login CSRF) and collect what the visitor then uploads.
void create_session(const protocol::service_config& config, const browser_request& req, browser_reply& out) {
    out.action = "session";
    const protocol::bearer_token* bearer = protocol::bearer_for(config, req.authorization);
    if (!bearer) throw protocol::unauthorized_error();
    out.user = bearer->user;
    if (!protocol::session_origin_allowed(config, {req.authorization, req.cookie, req.origin, req.host,
                                                   config.tls.has_value()}))
        throw protocol::api_error(403, std::string(protocol::api_code::origin_not_allowed),
                                  "a session can be created only from the service's own origin or one of its "
                                  "cors_origins");
    const std::int64_t ttl = config.session_ttl.count();
    const std::int64_t expiry = unix_now() + ttl;
    out.headers.emplace_back("Set-Cookie",
                             protocol::session_set_cookie(protocol::sign_session_cookie(config.token_secret, bearer->user,
                                                                                       bearer->sha256, expiry),
                                                          ttl, config.tls.has_value()));
    out.headers.emplace_back("Cache-Control", "no-store");
    out.body = protocol::session_response_json(bearer->user, expiry);
}

// DELETE /v1/session: needs no credentials; it only tells the browser to drop
// its cookie (a cookie cannot be revoked server-side: it expires).
void delete_session(const protocol::service_config& config, browser_reply& out) {
    out.action = "session-end";
    out.headers.emplace_back("Set-Cookie", protocol::session_clear_cookie(config.tls.has_value()));
    out.headers.emplace_back("Cache-Control", "no-store");
    out.body = R"({"success":true})";
}

// ---- Companion: /s3/* ------------------------------------------------------

net::awaitable<void> s3_create(const protocol::service_config& config, s3_call& s3, const browser_request& req,
                               browser_reply& out) {
    const auto create = protocol::parse_companion_create(req.body);
    const std::string key = protocol::key_for_proposed_name(config, out.user, unix_ms_now(), create.filename);
    auto loc = protocol::storage_location(config, key);
    auto r = co_await s3("CreateMultipartUpload", [&] {
        return protocol::create_multipart_upload(loc, protocol::integrity::kind::none, create.type);
    });
    if (!r.ok) throw storage_error(r);
    auto parsed = protocol::parse_initiate(r.response.body);
    auto* init = std::get_if<protocol::initiate_result>(&parsed);
    if (!init) throw unexpected_answer("CreateMultipartUpload");
    out.started = true;
    out.body = protocol::companion_create_json(key, init->upload_id, config.storage.bucket);
}

// Every page, to the end: 10,000 parts at 1,000 a page, plus slack.
net::awaitable<std::vector<protocol::part_info>> all_parts(const protocol::service_config& config, s3_call& s3,
                                                           const std::string& key, const std::string& upload_id) {
    auto loc = protocol::storage_location(config, key);
    std::vector<protocol::part_info> parts;
    std::uint32_t marker = 0;
    for (int page = 0; page < 11; ++page) {
        auto r = co_await s3("ListParts", [&] { return protocol::list_parts(loc, upload_id, marker); });
        if (!r.ok) throw storage_error(r);
        auto parsed = protocol::parse_list_parts(r.response.body);
        auto* p = std::get_if<protocol::list_parts_page>(&parsed);
        if (!p) throw unexpected_answer("ListParts");
        parts.insert(parts.end(), p->parts.begin(), p->parts.end());
        if (!p->is_truncated) co_return parts;
        if (p->next_part_number_marker <= marker) throw unexpected_answer("ListParts");   // no progress: a loop
        marker = p->next_part_number_marker;
    }
    throw unexpected_answer("ListParts");   // still truncated after 11 pages
}

net::awaitable<void> s3_complete(const protocol::service_config& config, s3_call& s3,
                                 const protocol::companion_target& t, const browser_request& req, browser_reply& out) {
    const auto parts = protocol::parse_companion_complete(req.body);
    auto loc = protocol::storage_location(config, t.key);
    auto r = co_await s3("CompleteMultipartUpload",
                         [&] { return protocol::complete_multipart_upload(loc, t.upload_id, parts); });
    if (!r.ok) throw storage_error(r);
    std::string location;
    auto parsed = protocol::parse_complete(r.response.body);
    if (auto* c = std::get_if<protocol::complete_result>(&parsed)) location = c->location;
    if (location.empty()) location = loc.ep.scheme + "://" + loc.host + sigv4::canonical_uri(loc.path, false);
    out.completed = true;
    out.body = protocol::companion_complete_json(location, t.key, config.storage.bucket);
}

net::awaitable<void> s3_abort(const protocol::service_config& config, s3_call& s3, const protocol::companion_target& t,
                              browser_reply& out) {
    auto loc = protocol::storage_location(config, t.key);
    auto r = co_await s3("AbortMultipartUpload", [&] { return protocol::abort_multipart_upload(loc, t.upload_id); });
    // Gone already (completed, aborted, expired): what the caller wanted. As the JSON API's abort.
    if (!r.ok && r.s3_code != "NoSuchUpload") throw storage_error(r);
    out.aborted = true;
    out.body = "{}";
}

net::awaitable<void> companion(const protocol::service_config& config, const sigv4::signer& signer, s3_call& s3,
                               const browser_request& req, browser_reply& out) {
    const auto t = protocol::parse_companion_target(req.route, req.target);
    // Every route naming a key: the caller's own, before the storage is touched.
    if (!t.key.empty()) protocol::require_own_key(config, out.user, t.key);
    switch (req.route) {
    case browser_route::s3_create:
        out.action = "create";
        co_await s3_create(config, s3, req, out);
        break;
    case browser_route::s3_sign_part: {
        out.action = "sign-part";
        auto urls = protocol::presign_parts(config, signer, t.key, t.upload_id, {t.part_number}, signing_date());
        out.body = protocol::companion_sign_part_json(urls.at(0).url, config.presign_expiry.count());
        break;
    }
    case browser_route::s3_list_parts:
        out.action = "list-parts";
        out.body = protocol::companion_parts_json(co_await all_parts(config, s3, t.key, t.upload_id));
        break;
    case browser_route::s3_complete:
        out.action = "complete";
        co_await s3_complete(config, s3, t, req, out);
        break;
    case browser_route::s3_abort:
        out.action = "abort";
        co_await s3_abort(config, s3, t, out);
        break;
    case browser_route::s3_params: {
        out.action = "params";
        const std::string type = protocol::checked_content_type(t.type, "type");
        const std::string key = protocol::key_for_proposed_name(config, out.user, unix_ms_now(), t.filename);
        out.body = protocol::companion_params_json(protocol::companion_post_form(config, signer, key, type, signing_date()));
        break;
    }
    default: throw protocol::api_error(404, std::string(protocol::api_code::not_found), "no such route");
    }
}

// ---- signRequest: POST /v1/sign-request --------------------------------------

void sign_request(const protocol::service_config& config, const sigv4::signer& signer, const browser_request& req,
                  browser_reply& out) {
    out.action = "sign-request";
    const auto in = protocol::parse_sign_request(req.body);
    const auto kind = protocol::classify_sign_request(in);
    out.action = "sign-" + std::string(protocol::to_string(kind));
    const auto signed_request = protocol::sign_s3_request(config, signer, out.user, in, unix_ms_now(), signing_date());
    out.body = protocol::sign_request_response_json(signed_request);
}

} // namespace

net::awaitable<void> handle_browser_route(const protocol::service_config& config, const sigv4::signer& signer,
                                          s3_call s3, browser_request req, browser_reply& out) {
    switch (req.route) {
    case browser_route::session_create: create_session(config, req, out); co_return;
    case browser_route::session_delete: delete_session(config, out); co_return;
    case browser_route::none: throw protocol::api_error(404, std::string(protocol::api_code::not_found), "no such route");
    default: break;
    }
    out.user = caller(config, req).user;
    out.headers.emplace_back("Cache-Control", "no-store");   // presigned URLs are bearer grants
    if (req.route == browser_route::sign_request) {
        sign_request(config, signer, req, out);
        co_return;
    }
    co_await companion(config, signer, s3, req, out);
}

} // namespace hoist::engine::detail
