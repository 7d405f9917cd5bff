// Integrity values for parts and objects: CRC32C (ISA-L's crc32_iscsi) and
// MD5 (OpenSSL), incremental so a part is checksummed slice by slice.
#pragma once

#include "hoist/protocol/s3/requests.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace hoist::engine {

// CRC32C (Castagnoli), the value S3 calls ChecksumCRC32C.
class crc32c {
public:
    void update(const void* data, std::size_t size);
    std::uint32_t value() const noexcept { return ~state_; }
    // Base64 of the big-endian 4 bytes: the x-amz-checksum-crc32c header form.
    std::string base64() const;

private:
    std::uint32_t state_ = 0xFFFFFFFFu;
};

// Computes a part's integrity value incrementally for the chosen kind. With
// `content_md5` (and kind crc32c) it also computes the MD5 for Content-MD5 in
// the same pass over the bytes: one read of the data serves both.
class integrity_builder {
public:
    explicit integrity_builder(protocol::integrity::kind kind, bool content_md5 = false);
    ~integrity_builder();
    integrity_builder(integrity_builder&&) noexcept;
    integrity_builder& operator=(integrity_builder&&) noexcept;

    void update(const void* data, std::size_t size);
    protocol::integrity finish();

private:
    protocol::integrity::kind kind_;
    crc32c crc_;
    struct md5_state;
    std::unique_ptr<md5_state> md5_;
};

protocol::integrity compute_integrity(protocol::integrity::kind kind, std::string_view data, bool content_md5 = false);

} // namespace hoist::engine
