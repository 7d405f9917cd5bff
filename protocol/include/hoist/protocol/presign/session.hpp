// Browser sessions of the presign service: a cookie that stands in for the
// bearer token where a browser cannot send one (Uppy's Companion mode sends no
// Authorization header, only same-origin cookies).
//
// POST /v1/session with "Authorization: Bearer TOKEN" answers
// {"user","expiresAt"} and sets
//   hoist_session=v1.<expiry>.<user>.<mac>; Path=/; HttpOnly; SameSite=Strict; Max-Age=N
// (under TLS: __Host-hoist_session=...; ...; Secure)
// where mac = base64url(HMAC-SHA256(token_secret, "hoist-session-v1\n" + user + "\n" + expiry +
// "\n" + hex(SHA-256 of the bearer token that bought the session))), unpadded.
// The token's hash in the MAC ties the session to that token: replacing or
// removing a token in the config ends every session it bought (a leaked token
// must not live on for session_ttl in cookies made with it). The "hoist-session-v1" label keeps the MAC apart from upload
// tokens (whose input starts "v1\n"), so neither can be passed off as the
// other under the same secret. DELETE /v1/session clears the cookie.
//
// Wherever a bearer token is accepted a valid cookie is accepted instead; the
// bearer wins when both are sent. A request authenticated by the cookie that
// carries an Origin header must come from the service's own origin or one of
// cors_origins: SameSite=Strict plus this check is the CSRF defence.
//
// Pure: the clock is passed in. Cookie values are never logged or quoted in
// error messages.
#pragma once

#include "hoist/protocol/presign/wire.hpp"   // api_error
#include "hoist/sigv4/signer.hpp"             // secret_string

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace hoist::protocol {

struct service_config;

inline constexpr std::string_view session_cookie_name = "hoist_session";
// Under TLS the cookie is "__Host-hoist_session": browsers store a __Host-
// cookie only from a secure origin, with Path=/ and without Domain, so no
// other site (a sibling subdomain) can set one this service would read.
inline constexpr std::string_view secure_session_cookie_name = "__Host-hoist_session";
inline constexpr std::string_view session_cookie_name_for(bool tls) {
    return tls ? secure_session_cookie_name : session_cookie_name;
}
inline constexpr std::string_view session_path = "/v1/session";

// "v1.<expiry>.<user>.<mac>" for the session `token_sha256` (the config's
// hash of the caller's bearer token) buys. Throws std::invalid_argument for a
// negative expiry or a user outside [A-Za-z0-9_-]{1,64} (the config's user names).
std::string sign_session_cookie(const sigv4::secret_string& secret, std::string_view user,
                                const sigv4::sha256_digest& token_sha256, std::int64_t expiry_unix);

enum class session_status { ok, malformed, bad_signature, expired };
std::string_view to_string(session_status);

struct session_check {
    session_status status = session_status::malformed;
    std::string user;              // when ok
    std::int64_t expiry_unix = 0;  // when ok or expired
};

// malformed: not "v1.<canonical decimal>.<user>.<43 base64url chars>", or a
// user outside the charset. bad_signature: the MAC matches none of
// `token_hashes` (the hashes of the cookie's user's current tokens; every one
// is compared, with CRYPTO_memcmp). expired: genuine, now_unix >= expiry. The
// MAC is checked before the expiry.
session_check verify_session_cookie(const sigv4::secret_string& secret, std::string_view value, std::int64_t now_unix,
                                    std::span<const sigv4::sha256_digest> token_hashes);

// The user a well-formed cookie value names (not verified), or nullopt.
std::optional<std::string_view> session_cookie_user(std::string_view value);

// The value of the first cookie called `name` in a Cookie header (RFC 6265
// 5.4: "a=1; b=2", pairs separated by ';' and optional spaces), or nullopt.
// Pairs without '=' are skipped; a value in double quotes is unquoted.
std::optional<std::string_view> find_cookie(std::string_view cookie_header, std::string_view name);
// How many cookies called `name` the header carries, counted up to 2.
std::size_t count_cookies(std::string_view cookie_header, std::string_view name);

// The Set-Cookie value that stores `value` for max_age_seconds, or (clear)
// the one that deletes the cookie (empty value, Max-Age=0); `secure` (the
// service runs TLS) adds Secure and names the cookie __Host-hoist_session.
std::string session_set_cookie(std::string_view value, std::int64_t max_age_seconds, bool secure);
std::string session_clear_cookie(bool secure);

// {"user":USER,"expiresAt":ISO-8601}
std::string session_response_json(std::string_view user, std::int64_t expiry_unix);

// What a request presents to authenticate.
struct request_credentials {
    std::string_view authorization;   // the Authorization header ("" when absent)
    std::string_view cookie;          // the Cookie header ("" when absent)
    std::string_view origin;          // the Origin header ("" when absent)
    std::string_view host;            // the Host header, for the service's own origin
    bool tls = false;                 // the service runs TLS: its own origin is https://HOST
};

struct authenticated {
    std::string user;
    bool by_cookie = false;
};

// Whether a request's Origin may use the session: absent (not a browser's
// cross-origin request), the service's own origin (http(s):// + Host), or one
// of cors_origins.
bool session_origin_allowed(const service_config& config, const request_credentials& creds);

// The caller's user: from the bearer token when an Authorization header is
// sent (a bad one is 401 even with a good cookie: the client meant the
// token), else from the session cookie. Throws api_error 401 unauthorized
// (no credentials, unknown token, a missing, forged, malformed or expired
// cookie, or two session cookies: see session.cpp) or 403 origin_not_allowed (a cookie-authenticated request whose
// Origin is neither the service's own nor one of cors_origins).
authenticated authenticate(const service_config& config, const request_credentials& creds, std::int64_t now_unix);

} // namespace hoist::protocol
