// Bearer tokens and upload tokens of the presign service. See presign/auth.hpp.
#include "hoist/protocol/presign/auth.hpp"

#include "hoist/protocol/presign/browser_routes.hpp"   // require_own_key
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/names.hpp"   // user_key_prefix
#include "hoist/sigv4/encoding.hpp"

#include "text.hpp"

#include <openssl/crypto.h>

#include <charconv>

namespace hoist::protocol {

using namespace presign_text;

namespace {

constexpr std::size_t max_bearer_bytes = 4096;

[[noreturn]] void forbidden(std::string_view code, std::string message) {
    throw api_error(403, std::string(code), std::move(message));
}

std::string token_mac_input(std::string_view user, std::string_view key, std::string_view upload_id,
                            std::string_view expiry) {
    std::string s = "v1\n";
    s.append(user).append("\n").append(key).append("\n").append(upload_id).append("\n").append(expiry);
    return s;
}

bool has_newline(std::string_view s) { return s.find('\n') != std::string_view::npos; }

} // namespace

// ---- bearer tokens --------------------------------------------------------

api_error unauthorized_error() {
    return api_error(401, std::string(api_code::unauthorized),
                     "a valid \"Authorization: Bearer TOKEN\" header is required");
}

std::optional<std::string> user_for_bearer(const service_config& config, std::string_view authorization_header) {
    const bearer_token* t = bearer_for(config, authorization_header);
    if (!t) return std::nullopt;
    return t->user;
}

const bearer_token* bearer_for(const service_config& config, std::string_view authorization_header) {
    std::string_view h = trim(authorization_header);
    if (h.size() > max_bearer_bytes || h.size() < 8) return nullptr;
    if (lowercase(h.substr(0, 6)) != "bearer" || h[6] != ' ') return nullptr;
    std::string_view token = trim(h.substr(7));
    // RFC 6750 b64token: 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    std::size_t body = token.find_first_of('=');
    if (body == std::string_view::npos) body = token.size();
    if (body == 0) return nullptr;
    for (std::size_t i = 0; i < token.size(); ++i) {
        const char c = token[i];
        const bool ok =
            i < body ? (is_alnum(c) || std::string_view("-._~+/").find(c) != std::string_view::npos) : c == '=';
        if (!ok) return nullptr;
    }

    const sigv4::sha256_digest digest = sigv4::sha256(token);
    // Compare with every entry, without an early exit, and select the match
    // with masks rather than a branch on the comparison.
    std::size_t match = 0;
    std::size_t found = 0;
    for (std::size_t i = 0; i < config.tokens.size(); ++i) {
        const std::size_t equal =
            static_cast<std::size_t>(CRYPTO_memcmp(digest.data(), config.tokens[i].sha256.data(), digest.size()) == 0);
        const std::size_t take = 0 - (equal & (found ^ 1));   // all ones for the first match
        match = (match & ~take) | (i & take);
        found |= equal;
    }
    if (!found) return nullptr;
    return &config.tokens[match];
}

// ---- upload tokens --------------------------------------------------------

std::string sign_upload_token(const sigv4::secret_string& secret, std::string_view user, std::string_view key,
                              std::string_view upload_id, std::int64_t expiry_unix) {
    if (expiry_unix < 0) throw std::invalid_argument("sign_upload_token: negative expiry");
    if (has_newline(user) || has_newline(key) || has_newline(upload_id))
        throw std::invalid_argument("sign_upload_token: user, key or upload id contains a newline");
    const std::string expiry = std::to_string(expiry_unix);
    const auto mac = sigv4::hmac_sha256(secret.reveal(), token_mac_input(user, key, upload_id, expiry));
    return "v1." + expiry + "." + base64url(mac);
}

std::string_view to_string(token_status s) {
    switch (s) {
    case token_status::ok: return "ok";
    case token_status::malformed: return "malformed";
    case token_status::bad_signature: return "bad signature";
    case token_status::expired: return "expired";
    }
    return "unknown";
}

token_status verify_upload_token(const sigv4::secret_string& secret, std::string_view token, std::string_view user,
                                 std::string_view key, std::string_view upload_id, std::int64_t now_unix) {
    constexpr std::string_view version = "v1.";
    if (!token.starts_with(version)) return token_status::malformed;
    token.remove_prefix(version.size());
    const auto dot = token.find('.');
    if (dot == std::string_view::npos) return token_status::malformed;
    const std::string_view expiry = token.substr(0, dot);
    const std::string_view signature = token.substr(dot + 1);

    const auto expiry_unix = parse_canonical_expiry(expiry);
    if (!expiry_unix || !is_mac_base64url(signature)) return token_status::malformed;

    if (has_newline(user) || has_newline(key) || has_newline(upload_id)) return token_status::bad_signature;
    const std::string expected =
        base64url(sigv4::hmac_sha256(secret.reveal(), token_mac_input(user, key, upload_id, expiry)));
    if (CRYPTO_memcmp(expected.data(), signature.data(), mac_base64url_chars) != 0)
        return token_status::bad_signature;
    if (now_unix >= *expiry_unix) return token_status::expired;
    return token_status::ok;
}

namespace {

void check_upload_token(const service_config& config, std::string_view user, const upload_ref& upload,
                        std::int64_t now_unix, bool accept_expired) {
    if (!upload.s3_key.starts_with(user_key_prefix(config.key_prefix, user)))
        forbidden(api_code::invalid_upload_token, "s3Key is not one of your uploads");
    switch (verify_upload_token(config.token_secret, upload.upload_token, user, upload.s3_key, upload.upload_id,
                                now_unix)) {
    case token_status::ok: return;
    case token_status::expired:
        if (accept_expired) return;   // verified before the expiry: genuine
        forbidden(api_code::upload_token_expired, "uploadToken has expired; start the upload again");
    case token_status::malformed:
        forbidden(api_code::invalid_upload_token, "uploadToken is malformed");
    case token_status::bad_signature:
        forbidden(api_code::invalid_upload_token, "uploadToken is not valid for this upload");
    }
    forbidden(api_code::invalid_upload_token, "uploadToken is not valid for this upload");
}

} // namespace

void require_upload_token(const service_config& config, std::string_view user, const upload_ref& upload,
                          std::int64_t now_unix) {
    check_upload_token(config, user, upload, now_unix, false);
}

void require_upload_token_for_abort(const service_config& config, std::string_view user, const upload_ref& upload,
                                    std::int64_t now_unix) {
    check_upload_token(config, user, upload, now_unix, true);
}

void authorize_upload(const service_config& config, std::string_view user, const upload_ref& upload,
                      std::int64_t now_unix, upload_call call) {
    if (!upload.upload_token.empty()) {
        check_upload_token(config, user, upload, now_unix, call == upload_call::abort);
        return;
    }
    require_own_key(config, user, upload.s3_key);
}

std::string issue_upload_token(const service_config& config, std::string_view user, std::string_view key,
                               std::string_view upload_id, std::int64_t now_unix) {
    return sign_upload_token(config.token_secret, user, key, upload_id, now_unix + config.upload_token_ttl.count());
}

} // namespace hoist::protocol
