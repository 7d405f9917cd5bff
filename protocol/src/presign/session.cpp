// Browser session cookies of the presign service. See presign/session.hpp.
#include "hoist/protocol/presign/session.hpp"

#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/config.hpp"
#include "hoist/sigv4/encoding.hpp"

#include "text.hpp"

#include <boost/json.hpp>
#include <openssl/crypto.h>

#include <charconv>
#include <stdexcept>
#include <vector>

namespace hoist::protocol {

using namespace presign_text;

namespace {

constexpr std::size_t max_user_chars = 64;     // as the config's user names

bool is_user(std::string_view s) {
    return !s.empty() && s.size() <= max_user_chars &&
           std::all_of(s.begin(), s.end(), [](char c) { return is_alnum(c) || c == '_' || c == '-'; });
}

std::string session_mac(const sigv4::secret_string& secret, std::string_view user, std::string_view expiry,
                        const sigv4::sha256_digest& token_sha256) {
    std::string input = "hoist-session-v1\n";
    input.append(user).append("\n").append(expiry).append("\n");
    input.append(sigv4::hex(token_sha256));
    return base64url(sigv4::hmac_sha256(secret.reveal(), input));
}

// "v1.EXPIRY.USER.MAC" cut at its dots (the user has no '.', so the three
// dots are unambiguous); nothing checked beyond the shape.
struct cookie_fields {
    std::string_view expiry, user, mac;
};
std::optional<cookie_fields> split_cookie(std::string_view value) {
    constexpr std::string_view version = "v1.";
    if (!value.starts_with(version)) return std::nullopt;
    value.remove_prefix(version.size());
    const auto d1 = value.find('.');
    if (d1 == std::string_view::npos) return std::nullopt;
    const auto d2 = value.find('.', d1 + 1);
    if (d2 == std::string_view::npos) return std::nullopt;
    return cookie_fields{value.substr(0, d1), value.substr(d1 + 1, d2 - d1 - 1), value.substr(d2 + 1)};
}

api_error no_session() {
    return api_error(401, std::string(api_code::unauthorized),
                     "a valid \"Authorization: Bearer TOKEN\" header or session cookie is required");
}

} // namespace

std::string sign_session_cookie(const sigv4::secret_string& secret, std::string_view user,
                                const sigv4::sha256_digest& token_sha256, std::int64_t expiry_unix) {
    if (expiry_unix < 0) throw std::invalid_argument("sign_session_cookie: negative expiry");
    if (!is_user(user)) throw std::invalid_argument("sign_session_cookie: user outside [A-Za-z0-9_-]{1,64}");
    const std::string expiry = std::to_string(expiry_unix);
    return "v1." + expiry + "." + std::string(user) + "." + session_mac(secret, user, expiry, token_sha256);
}

std::optional<std::string_view> session_cookie_user(std::string_view value) {
    const auto f = split_cookie(value);
    if (!f || !is_user(f->user)) return std::nullopt;
    return f->user;
}

std::string_view to_string(session_status s) {
    switch (s) {
    case session_status::ok: return "ok";
    case session_status::malformed: return "malformed";
    case session_status::bad_signature: return "bad signature";
    case session_status::expired: return "expired";
    }
    return "unknown";
}

session_check verify_session_cookie(const sigv4::secret_string& secret, std::string_view value, std::int64_t now_unix,
                                    std::span<const sigv4::sha256_digest> token_hashes) {
    session_check out;
    const auto f = split_cookie(value);
    if (!f) return out;
    const auto [expiry, user, mac] = *f;
    const auto expiry_unix = parse_canonical_expiry(expiry);
    if (!expiry_unix || !is_user(user) || !is_mac_base64url(mac)) return out;

    // Every current token of the user is tried, without an early exit.
    bool genuine = false;
    for (const auto& hash : token_hashes) {
        const std::string expected = session_mac(secret, user, expiry, hash);
        genuine |= CRYPTO_memcmp(expected.data(), mac.data(), mac_base64url_chars) == 0;
    }
    if (!genuine) {
        out.status = session_status::bad_signature;
        return out;
    }
    out.expiry_unix = *expiry_unix;
    if (now_unix >= *expiry_unix) {
        out.status = session_status::expired;
        return out;
    }
    out.status = session_status::ok;
    out.user = std::string(user);
    return out;
}

namespace {

// Calls `each` with the value of every cookie called `name`, in header order,
// until it returns false.
template <class Each>
void for_each_cookie(std::string_view header, std::string_view name, Each each) {
    while (!header.empty()) {
        const auto semi = header.find(';');
        std::string_view pair = trim(header.substr(0, semi));
        header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
        const auto eq = pair.find('=');
        if (eq == std::string_view::npos) continue;
        if (trim(pair.substr(0, eq)) != name) continue;
        std::string_view v = trim(pair.substr(eq + 1));
        if (v.size() >= 2 && v.front() == '"' && v.back() == '"') v = v.substr(1, v.size() - 2);
        if (!each(v)) return;
    }
}

} // namespace

std::optional<std::string_view> find_cookie(std::string_view header, std::string_view name) {
    std::optional<std::string_view> found;
    for_each_cookie(header, name, [&](std::string_view v) {
        found = v;
        return false;
    });
    return found;
}

std::size_t count_cookies(std::string_view header, std::string_view name) {
    std::size_t n = 0;
    for_each_cookie(header, name, [&](std::string_view) { return ++n < 2; });   // 2 is all a caller needs
    return n;
}

std::string session_set_cookie(std::string_view value, std::int64_t max_age_seconds, bool secure) {
    std::string s(session_cookie_name_for(secure));
    s.append("=").append(value).append("; Path=/; HttpOnly; SameSite=Strict; Max-Age=");
    s.append(std::to_string(max_age_seconds));
    if (secure) s.append("; Secure");
    return s;
}

std::string session_clear_cookie(bool secure) { return session_set_cookie("", 0, secure); }

std::string session_response_json(std::string_view user, std::int64_t expiry_unix) {
    boost::json::object o{{"user", user}, {"expiresAt", format_expires_at(expiry_unix)}};
    return boost::json::serialize(o);
}

namespace {
// Whether an Authorization header uses the Bearer scheme (RFC 7235: the
// scheme is case-insensitive). Another scheme is not hoist's: a site that puts
// HTTP Basic auth in front of the page makes the browser send
// "Authorization: Basic ..." on every request, the page's fetches included,
// and that must not hide the session cookie.
bool is_bearer_scheme(std::string_view header) {
    const std::string_view h = trim(header);
    return h.size() >= 6 && lowercase(h.substr(0, 6)) == "bearer" && (h.size() == 6 || h[6] == ' ' || h[6] == '\t');
}
} // namespace

authenticated authenticate(const service_config& config, const request_credentials& creds, std::int64_t now_unix) {
    if (is_bearer_scheme(creds.authorization)) {
        auto user = user_for_bearer(config, creds.authorization);
        if (!user) throw unauthorized_error();
        return {*user, false};
    }
    const std::string_view name = session_cookie_name_for(creds.tls);
    const auto value = find_cookie(creds.cookie, name);
    if (!value) throw unauthorized_error();
    // hoist sets one cookie, host-only with Path=/: a second one was set by
    // someone else, for a parent domain or a longer path (a sibling site
    // "tossing" its own valid session). Browsers send the longer path first,
    // so taking the first would upload the visitor's files into the other
    // user's account; refusing both is the only safe reading.
    if (count_cookies(creds.cookie, name) > 1)
        throw api_error(401, std::string(api_code::unauthorized),
                        "more than one session cookie was sent (another site on this domain may have set one): "
                        "clear this site's cookies, then sign in again");
    // The MAC is tried against the hashes of the named user's current tokens:
    // a user removed from the config, or a token replaced since, has none
    // that matches (no session).
    std::vector<sigv4::sha256_digest> hashes;
    if (const auto named = session_cookie_user(*value))
        for (const bearer_token& t : config.tokens)
            if (t.user == *named) hashes.push_back(t.sha256);
    auto check = verify_session_cookie(config.token_secret, *value, now_unix, hashes);
    if (check.status == session_status::expired)
        throw api_error(401, std::string(api_code::unauthorized),
                        "the session has expired; sign in again (POST /v1/session)");
    if (check.status != session_status::ok) throw no_session();
    if (!session_origin_allowed(config, creds))
        throw api_error(403, std::string(api_code::origin_not_allowed),
                        "a request authenticated by the session cookie must come from the service's own "
                        "origin or one of its cors_origins");
    return {std::move(check.user), true};
}

bool session_origin_allowed(const service_config& config, const request_credentials& creds) {
    if (creds.origin.empty()) return true;
    const std::string own = std::string(creds.tls ? "https://" : "http://") + std::string(creds.host);
    return (!creds.host.empty() && creds.origin == own) || origin_allowed(config, creds.origin);
}

} // namespace hoist::protocol
