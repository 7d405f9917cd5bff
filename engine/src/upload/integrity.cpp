#include "hoist/engine/integrity.hpp"

#include "hoist/sigv4/encoding.hpp"

#include <isa-l/crc.h>
#include <openssl/evp.h>

#include <climits>
#include <stdexcept>

namespace hoist::engine {

void crc32c::update(const void* data, std::size_t size) {
    auto* p = static_cast<const unsigned char*>(data);
    // crc32_iscsi takes an int length; feed large buffers in pieces.
    while (size > 0) {
        int n = static_cast<int>(std::min<std::size_t>(size, INT_MAX / 2));
        state_ = crc32_iscsi(const_cast<unsigned char*>(p), n, state_);
        p += n;
        size -= static_cast<std::size_t>(n);
    }
}

std::string crc32c::base64() const {
    std::uint32_t v = value();
    std::uint8_t be[4] = {static_cast<std::uint8_t>(v >> 24), static_cast<std::uint8_t>(v >> 16),
                          static_cast<std::uint8_t>(v >> 8), static_cast<std::uint8_t>(v)};
    return sigv4::base64_encode(be, 4);
}

struct integrity_builder::md5_state {
    EVP_MD_CTX* ctx = EVP_MD_CTX_new();
    md5_state() {
        if (!ctx || !EVP_DigestInit_ex(ctx, EVP_md5(), nullptr)) throw std::runtime_error("OpenSSL MD5 init failed");
    }
    ~md5_state() { EVP_MD_CTX_free(ctx); }
};

integrity_builder::integrity_builder(protocol::integrity::kind kind, bool content_md5) : kind_(kind) {
    if (kind_ == protocol::integrity::kind::md5 || (content_md5 && kind_ == protocol::integrity::kind::crc32c))
        md5_ = std::make_unique<md5_state>();
}
integrity_builder::~integrity_builder() = default;
integrity_builder::integrity_builder(integrity_builder&&) noexcept = default;
integrity_builder& integrity_builder::operator=(integrity_builder&&) noexcept = default;

void integrity_builder::update(const void* data, std::size_t size) {
    switch (kind_) {
    case protocol::integrity::kind::none: break;
    case protocol::integrity::kind::crc32c:
        crc_.update(data, size);
        if (md5_) EVP_DigestUpdate(md5_->ctx, data, size);
        break;
    case protocol::integrity::kind::md5: EVP_DigestUpdate(md5_->ctx, data, size); break;
    }
}

protocol::integrity integrity_builder::finish() {
    protocol::integrity out;
    out.type = kind_;
    std::string md5;
    if (md5_) {
        unsigned char digest[EVP_MAX_MD_SIZE];
        unsigned int len = 0;
        EVP_DigestFinal_ex(md5_->ctx, digest, &len);
        md5 = sigv4::base64_encode(digest, len);
    }
    if (kind_ == protocol::integrity::kind::crc32c) {
        out.base64 = crc_.base64();
        out.content_md5 = std::move(md5);
    }
    if (kind_ == protocol::integrity::kind::md5) out.base64 = std::move(md5);
    return out;
}

protocol::integrity compute_integrity(protocol::integrity::kind kind, std::string_view data, bool content_md5) {
    integrity_builder b(kind, content_md5);
    b.update(data.data(), data.size());
    return b.finish();
}

} // namespace hoist::engine
