// AWS credentials: an access key id, a secret and an optional session token.
//
// The secret is held in a `secret_string`, which has no stream operator and no
// implicit conversion, so it cannot end up in a log line by accident: the only
// way to read it is the explicit `reveal()`, used by the signer alone.
#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace hoist::sigv4 {

// Thrown for bad signing input (empty key, bad region, bad date, bad expiry).
// Configuration errors, not I/O outcomes: callers report them and exit.
class sigv4_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// A string whose content must never be printed. Copyable, comparable, but
// deliberately not streamable: `std::cout << s` does not compile.
class secret_string {
public:
    secret_string() = default;
    explicit secret_string(std::string value) : value_(std::move(value)) {}

    // The only accessor. Call it where the bytes are needed (HMAC keys, the
    // session-token header), never to format a message.
    const std::string& reveal() const noexcept { return value_; }
    bool empty() const noexcept { return value_.empty(); }

    // What to show instead of the value in diagnostics.
    static constexpr std::string_view redacted = "<redacted>";

    friend bool operator==(const secret_string&, const secret_string&) = default;

private:
    std::string value_;
};

template <class Stream>
Stream& operator<<(Stream&, const secret_string&) = delete;

struct credentials {
    std::string access_key_id;
    secret_string secret_access_key;
    // Session token from STS; empty for long-term keys. Sent, not secret in
    // the HMAC sense, but still a bearer credential: never printed either.
    secret_string session_token;

    // Throws sigv4_error when the key id or the secret is empty.
    void validate() const;

    // "AKID… (secret <redacted>, session token <redacted>|none)" for logs.
    std::string describe() const;
};

template <class Stream>
Stream& operator<<(Stream&, const credentials&) = delete;

} // namespace hoist::sigv4
