#include "hoist/sigv4/credentials.hpp"

namespace hoist::sigv4 {

void credentials::validate() const {
    if (access_key_id.empty())
        throw sigv4_error("credentials: the access key id is empty");
    if (secret_access_key.empty())
        throw sigv4_error("credentials: the secret access key is empty");
}

std::string credentials::describe() const {
    std::string out = access_key_id.empty() ? std::string("<no key id>") : access_key_id;
    out += " (secret ";
    out += secret_access_key.empty() ? "none" : secret_string::redacted;
    out += ", session token ";
    out += session_token.empty() ? "none" : secret_string::redacted;
    out += ")";
    return out;
}

} // namespace hoist::sigv4
