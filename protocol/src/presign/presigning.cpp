// Presigned URLs of the presign service. See presign/presigning.hpp.
#include "hoist/protocol/presign/presigning.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/s3/requests.hpp"

#include <algorithm>
#include <stdexcept>

namespace hoist::protocol {

object_location storage_location(const service_config& config, std::string_view key) {
    return locate(config.storage.ep, config.storage.bucket, key, config.storage.style);
}

std::vector<std::uint32_t> initial_part_numbers(const part_plan& plan, std::uint32_t url_batch) {
    std::vector<std::uint32_t> out;
    const std::uint32_t n = std::min(plan.part_count, url_batch);
    out.reserve(n);
    for (std::uint32_t i = 1; i <= n; ++i) out.push_back(i);
    return out;
}

std::vector<presigned_part> presign_parts(const service_config& config, const sigv4::signer& signer,
                                          std::string_view key, std::string_view upload_id,
                                          const std::vector<std::uint32_t>& part_numbers,
                                          const sigv4::amz_date& date) {
    const object_location loc = storage_location(config, key);
    std::vector<presigned_part> out;
    out.reserve(part_numbers.size());
    for (std::uint32_t n : part_numbers) {
        if (n < 1 || n > max_parts) throw std::invalid_argument("presign_parts: part number out of 1..10000");
        out.push_back({n, presign_url(loc, "PUT", {{"partNumber", std::to_string(n)}, {"uploadId", std::string(upload_id)}},
                                      signer, config.storage.region, date, config.presign_expiry)});
    }
    return out;
}

std::string presign_single_put(const service_config& config, const sigv4::signer& signer, std::string_view key,
                               const sigv4::amz_date& date) {
    return presign_url(storage_location(config, key), "PUT", {}, signer, config.storage.region, date,
                       config.presign_expiry);
}

} // namespace hoist::protocol
