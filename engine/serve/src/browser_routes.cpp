// hoist serve's browser routes. See browser_routes.hpp.
#include "browser_routes.hpp"

#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/session.hpp"

#include <chrono>

namespace hoist::engine::detail {

namespace {

using protocol::browser_route;

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
// stolen one would live for ever).
void create_session(const protocol::service_config& config, const browser_request& req, browser_reply& out) {
    out.action = "session";
    auto user = protocol::user_for_bearer(config, req.authorization);
    if (!user) throw protocol::unauthorized_error();
    out.user = *user;
    const std::int64_t ttl = config.session_ttl.count();
    const std::int64_t expiry = unix_now() + ttl;
    out.headers.emplace_back("Set-Cookie",
                             protocol::session_set_cookie(protocol::sign_session_cookie(config.token_secret, *user, expiry),
                                                          ttl, config.tls.has_value()));
    out.headers.emplace_back("Cache-Control", "no-store");
    out.body = protocol::session_response_json(*user, expiry);
}

// DELETE /v1/session: needs no credentials; it only tells the browser to drop
// its cookie (a cookie cannot be revoked server-side: it expires).
void delete_session(const protocol::service_config& config, browser_reply& out) {
    out.action = "session-end";
    out.headers.emplace_back("Set-Cookie", protocol::session_clear_cookie(config.tls.has_value()));
    out.headers.emplace_back("Cache-Control", "no-store");
    out.body = R"({"success":true})";
}

} // namespace

net::awaitable<void> handle_browser_route(const protocol::service_config& config, const sigv4::signer& signer,
                                          s3_call s3, browser_request req, browser_reply& out) {
    (void)signer;
    (void)s3;
    switch (req.route) {
    case browser_route::session_create: create_session(config, req, out); co_return;
    case browser_route::session_delete: delete_session(config, out); co_return;
    default: break;
    }
    auto who = caller(config, req);
    out.user = who.user;
    throw protocol::api_error(404, std::string(protocol::api_code::not_found), "no such route");
}

} // namespace hoist::engine::detail
