// The URLs the presign service hands out: UploadPart and PutObject, presigned
// with the service's storage credentials. Pure: the signer never reads a clock.
#pragma once

#include "hoist/protocol/presign/wire.hpp"   // presigned_part
#include "hoist/protocol/s3/endpoint.hpp"
#include "hoist/protocol/s3/part_plan.hpp"
#include "hoist/sigv4/signer.hpp"

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace hoist::protocol {

struct service_config;

// Where `key` lives in the configured bucket.
object_location storage_location(const service_config& config, std::string_view key);

// Parts 1..min(part_count, url_batch): the URLs start hands out.
std::vector<std::uint32_t> initial_part_numbers(const part_plan& plan, std::uint32_t url_batch);

// UploadPart PUT URLs, valid for config.presign_expiry from `date`. Throws
// std::invalid_argument for a part number outside 1..10000.
std::vector<presigned_part> presign_parts(const service_config& config, const sigv4::signer& signer,
                                          std::string_view key, std::string_view upload_id,
                                          const std::vector<std::uint32_t>& part_numbers,
                                          const sigv4::amz_date& date);
// A PutObject URL, valid for config.presign_expiry from `date`.
std::string presign_single_put(const service_config& config, const sigv4::signer& signer, std::string_view key,
                               const sigv4::amz_date& date);

} // namespace hoist::protocol
