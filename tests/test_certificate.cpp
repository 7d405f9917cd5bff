#include "test_certificate.hpp"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <stdexcept>

namespace hoist::test {
namespace {

[[noreturn]] void fail(const char* what) {
    char buf[256] = "no OpenSSL error";
    if (unsigned long e = ERR_get_error()) ERR_error_string_n(e, buf, sizeof buf);
    ERR_clear_error();
    throw std::runtime_error(std::string("test certificate: ") + what + ": " + buf);
}

struct pkey_free { void operator()(EVP_PKEY* p) const { EVP_PKEY_free(p); } };
struct x509_free { void operator()(X509* p) const { X509_free(p); } };
struct bio_free { void operator()(BIO* p) const { BIO_free(p); } };
struct ext_free { void operator()(X509_EXTENSION* p) const { X509_EXTENSION_free(p); } };

void add_extension(X509* cert, int nid, const char* value) {
    X509V3_CTX ctx;
    X509V3_set_ctx_nodb(&ctx);
    X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
    std::unique_ptr<X509_EXTENSION, ext_free> ext(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value));
    if (!ext) fail("X509V3_EXT_conf_nid");
    if (X509_add_ext(cert, ext.get(), -1) != 1) fail("X509_add_ext");
}

std::string drain(BIO* bio) {
    char* data = nullptr;
    long size = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(size));
}

} // namespace

test_certificate make_test_certificate() {
    std::unique_ptr<EVP_PKEY, pkey_free> key(EVP_EC_gen("P-256"));
    if (!key) fail("EVP_EC_gen");

    std::unique_ptr<X509, x509_free> cert(X509_new());
    if (!cert) fail("X509_new");
    if (X509_set_version(cert.get(), X509_VERSION_3) != 1) fail("X509_set_version");

    // A random serial: clients cache nothing across runs, but two servers in one
    // process must not present the same issuer+serial with different keys.
    std::unique_ptr<BIGNUM, decltype(&BN_free)> serial(BN_new(), &BN_free);
    if (!serial || BN_rand(serial.get(), 64, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) fail("BN_rand");
    if (!BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get()))) fail("BN_to_ASN1_INTEGER");

    if (!X509_gmtime_adj(X509_getm_notBefore(cert.get()), -3600)) fail("notBefore");
    if (!X509_gmtime_adj(X509_getm_notAfter(cert.get()), 7L * 24 * 3600)) fail("notAfter");
    if (X509_set_pubkey(cert.get(), key.get()) != 1) fail("X509_set_pubkey");

    X509_NAME* name = X509_get_subject_name(cert.get());
    auto cn = reinterpret_cast<const unsigned char*>("127.0.0.1");
    auto org = reinterpret_cast<const unsigned char*>("hoist test server");
    if (X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC, org, -1, -1, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, cn, -1, -1, 0) != 1)
        fail("X509_NAME_add_entry_by_txt");
    if (X509_set_issuer_name(cert.get(), name) != 1) fail("X509_set_issuer_name");

    add_extension(cert.get(), NID_basic_constraints, "critical,CA:TRUE");
    add_extension(cert.get(), NID_key_usage, "critical,digitalSignature,keyCertSign");
    add_extension(cert.get(), NID_ext_key_usage, "serverAuth");
    add_extension(cert.get(), NID_subject_key_identifier, "hash");
    add_extension(cert.get(), NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost");

    if (X509_sign(cert.get(), key.get(), EVP_sha256()) <= 0) fail("X509_sign");

    std::unique_ptr<BIO, bio_free> cert_bio(BIO_new(BIO_s_mem()));
    std::unique_ptr<BIO, bio_free> key_bio(BIO_new(BIO_s_mem()));
    if (!cert_bio || !key_bio) fail("BIO_new");
    if (PEM_write_bio_X509(cert_bio.get(), cert.get()) != 1) fail("PEM_write_bio_X509");
    if (PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) != 1)
        fail("PEM_write_bio_PrivateKey");
    return {drain(cert_bio.get()), drain(key_bio.get())};
}

} // namespace hoist::test
