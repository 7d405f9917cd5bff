// Who may call the presign service, and on which upload.
//
// Callers authenticate with "Authorization: Bearer TOKEN"; the config holds
// only SHA-256 hashes of the tokens. A call after start names its upload by
// upload id and key, and is authorised one of two ways (authorize_upload):
//
// - With an uploadToken (hoist's own clients): an HMAC over (user, key,
//   upload id, expiry) issued at start. It must verify for this caller, this
//   key and this upload id, and be unexpired (abort accepts an expired one).
// - Without one (the product's frontend, whose documents have no token): by
//   the key prefix alone (require_own_key): the key must lie under the
//   caller's own PREFIX/USER/ (no empty, "." or ".." segment after it).
//
// Why the prefix rule is safe enough: the service only ever acts on the key
// the caller names, and a key under PREFIX/USER/ is by construction one of
// that user's objects (keys are made PREFIX/USER/USER_UNIXMS_NAME, and one
// user's prefix never lies under another's: it ends in "/USER/"). The upload
// id is the storage's, long and random (S3's are unguessable), and the
// storage itself refuses an upload id that is not an upload of that key
// (NoSuchUpload). So Bob can name only keys under Bob's prefix, and through
// them no upload of Alice's: her keys are outside his prefix (403, storage
// untouched), and her upload id under his key is not an upload there.
// What the token adds: an expiry (a leaked upload id and key stop working
// with the token's lifetime instead of the bearer token's), and a binding of
// the key to the upload id made by the service at start (a client cannot
// even try an id under another of its own keys), checked without a storage
// round trip. A bad token is refused even when the prefix matches: a client
// that sends one gets the token's checks, never the weaker rule.
#pragma once

#include "hoist/protocol/presign/wire.hpp"   // api_error, upload_ref
#include "hoist/sigv4/signer.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace hoist::protocol {

struct service_config;
struct bearer_token;

// ---- bearer tokens --------------------------------------------------------

// The user of an "Authorization" header value "Bearer TOKEN" (scheme
// case-insensitive, RFC 6750 token characters), or nullopt: missing scheme,
// empty or malformed token, unknown token. The token's SHA-256 is compared
// with every configured hash in constant time, without an early exit.
std::optional<std::string> user_for_bearer(const service_config& config, std::string_view authorization_header);

// As user_for_bearer, but the matching config entry itself (user and the
// token's SHA-256, which a browser session is bound to), or nullptr. It
// points into `config`.
const bearer_token* bearer_for(const service_config& config, std::string_view authorization_header);

// api_error 401 unauthorized, for a missing or unknown bearer token.
api_error unauthorized_error();

// ---- upload tokens --------------------------------------------------------

// "v1.<expiry>.<base64url(HMAC-SHA256(secret, "v1\n"+user+"\n"+key+"\n"+upload_id+"\n"+expiry))>",
// base64url without padding. Single-PUT tokens use upload_id "". Throws
// std::invalid_argument for a negative expiry or a '\n' in user, key or upload id.
std::string sign_upload_token(const sigv4::secret_string& secret, std::string_view user, std::string_view key,
                              std::string_view upload_id, std::int64_t expiry_unix);

enum class token_status { ok, malformed, bad_signature, expired };
std::string_view to_string(token_status);

// malformed: not "v1.<canonical decimal>.<43 base64url chars>". bad_signature:
// the MAC differs (compared with CRYPTO_memcmp) or user/key/upload id contain
// '\n'. expired: genuine, but now_unix >= expiry. The signature is checked
// before the expiry.
token_status verify_upload_token(const sigv4::secret_string& secret, std::string_view token, std::string_view user,
                                 std::string_view key, std::string_view upload_id, std::int64_t now_unix);

// Checks that `upload` belongs to `user`: the key lies under PREFIX/USER/ and
// the token verifies for (user, key, upload id). Throws api_error 403
// invalid_upload_token or upload_token_expired.
void require_upload_token(const service_config& config, std::string_view user, const upload_ref& upload,
                          std::int64_t now_unix);

// As require_upload_token, but a genuine token past its expiry is accepted.
// For abort only: a client that outlived its token (a slow upload, a long
// pause) can still clean up its own upload instead of leaving an orphan it
// pays for. The token still binds user, key and upload id, so it aborts
// nothing else, and abort creates nothing.
void require_upload_token_for_abort(const service_config& config, std::string_view user, const upload_ref& upload,
                                    std::int64_t now_unix);

// Which checks a call gets (see require_upload_token_for_abort).
enum class upload_call { use, abort };

// Authorises `user`'s call on `upload`: with an upload token, exactly
// require_upload_token (require_upload_token_for_abort for upload_call::abort);
// without one (upload_token empty), require_own_key (browser_routes.hpp: the
// rule the browser routes apply to keys). Throws api_error 403:
// invalid_upload_token, upload_token_expired, or forbidden_key.
void authorize_upload(const service_config& config, std::string_view user, const upload_ref& upload,
                      std::int64_t now_unix, upload_call call = upload_call::use);

// sign_upload_token with expiry now_unix + config.upload_token_ttl.
std::string issue_upload_token(const service_config& config, std::string_view user, std::string_view key,
                               std::string_view upload_id, std::int64_t now_unix);

} // namespace hoist::protocol
