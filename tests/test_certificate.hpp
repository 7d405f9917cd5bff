// A throwaway self-signed TLS certificate for the in-process S3 test server.
//
// Generated with OpenSSL 3 APIs at run time (never checked in, so it cannot
// expire in the repository): an ECDSA P-256 key and a certificate for
// CN=127.0.0.1 with subjectAltName IP:127.0.0.1 and DNS:localhost, valid from
// an hour ago for 7 days. It is its own CA (basicConstraints CA:TRUE), so a
// client trusts it by loading exactly this PEM as its CA file and then checks
// the host name against the SAN as usual.
#pragma once

#include <string>

namespace hoist::test {

struct test_certificate {
    std::string cert_pem;   // "-----BEGIN CERTIFICATE-----..."
    std::string key_pem;    // PKCS#8 "-----BEGIN PRIVATE KEY-----..."; test-only, never a real secret
};

// Throws std::runtime_error with OpenSSL's error text when generation fails.
test_certificate make_test_certificate();

} // namespace hoist::test
