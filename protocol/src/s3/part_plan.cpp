// Part planning within S3's multipart limits. See part_plan.hpp for the rules.
#include "hoist/protocol/s3/part_plan.hpp"

#include <algorithm>

#include <string>

namespace hoist::protocol {

namespace {

constexpr std::uint32_t parts_per_stream_tier = 1'000;

std::uint64_t ceil_div(std::uint64_t n, std::uint64_t d) {
    // n / d + remainder test, not (n + d - 1) / d, which can wrap near 2^64.
    return n / d + (n % d != 0 ? 1 : 0);
}

std::string bytes(std::uint64_t n) { return std::to_string(n) + " bytes"; }

void check_part_number(std::uint32_t part_number, std::uint32_t part_count) {
    if (part_number < 1 || part_number > part_count)
        throw std::out_of_range("part number " + std::to_string(part_number) +
                                " is outside 1.." + std::to_string(part_count));
}

// The smallest whole number of MiB that fits object_size into max_parts parts.
// Any part size below ceil(object_size / max_parts) needs more than max_parts
// parts, so rounding that bound up to a MiB gives the minimum.
std::uint64_t grown_part_size(std::uint64_t object_size) {
    return ceil_div(ceil_div(object_size, max_parts), mib) * mib;
}

} // namespace

void validate_part_size(std::uint64_t requested_part_size) {
    if (requested_part_size < min_part_size)
        throw plan_error(
            "part size " + bytes(requested_part_size) + " is below 5 MiB (" + bytes(min_part_size) +
            "): S3 requires at least 5 MiB for every part but the last, which is why the "
            "original 512 KB chunks are refused by S3");
    if (requested_part_size > max_part_size)
        throw plan_error("part size " + bytes(requested_part_size) + " is above 5 GiB (" +
                         bytes(max_part_size) + "), the largest part S3 accepts");
}

std::uint64_t spread_part_size(std::uint64_t object_size, std::uint64_t part_size, unsigned connections) {
    if (connections < 2) return part_size;
    std::uint64_t share = (object_size + connections - 1) / connections;
    share = (share + mib - 1) / mib * mib;
    return std::clamp(share, std::min(min_part_size, part_size), part_size);
}

congestion_response classify_congestion_control(std::string_view name) {
    if (name.empty()) return congestion_response::unknown;
    return name.substr(0, 3) == "bbr" ? congestion_response::model_based : congestion_response::loss_based;
}

unsigned parts_in_flight(unsigned concurrency, std::uint32_t part_count, congestion_response cc) {
    if (cc == congestion_response::model_based && part_count <= 2) return 1;
    return std::max(1u, std::min<unsigned>(concurrency, part_count));
}

part_plan plan_parts(std::uint64_t object_size, std::uint64_t requested_part_size) {
    validate_part_size(requested_part_size);
    if (object_size > max_object_size)
        throw plan_error("object size " + bytes(object_size) + " exceeds S3's multipart limit of " +
                         "10,000 parts x 5 GiB (" + bytes(max_object_size) + ")");

    part_plan plan;
    plan.object_size = object_size;
    plan.part_size = requested_part_size;
    if (ceil_div(object_size, requested_part_size) > max_parts)
        plan.part_size = grown_part_size(object_size);
    // A 0-byte object is still uploaded as one (empty) part.
    const std::uint64_t count = object_size == 0 ? 1 : ceil_div(object_size, plan.part_size);
    plan.part_count = static_cast<std::uint32_t>(count);
    plan.last_part_size = object_size - (count - 1) * plan.part_size;
    return plan;
}

std::uint64_t part_plan::offset(std::uint32_t part_number) const {
    check_part_number(part_number, part_count);
    return (part_number - 1ull) * part_size;
}

std::uint64_t part_plan::size(std::uint32_t part_number) const {
    check_part_number(part_number, part_count);
    return part_number == part_count ? last_part_size : part_size;
}

std::uint64_t stream_plan::part_size(std::uint32_t part_number) const {
    check_part_number(part_number, max_parts);
    // At most 9 doublings: part numbers stop at 10,000.
    const std::uint32_t doublings = (part_number - 1) / parts_per_stream_tier;
    // Compare before shifting so a large base cannot overflow: base << d exceeds
    // the cap exactly when base exceeds cap >> d (rounded down).
    if (base_part_size > (max_part_size >> doublings)) return max_part_size;
    return base_part_size << doublings;
}

std::uint64_t stream_plan::max_stream_size() const {
    // Each term is at most 1,000 x 5 GiB and the total at most max_object_size
    // (about 2^45.6), so the sum of capped sizes cannot overflow a uint64.
    std::uint64_t total = 0;
    for (std::uint32_t first = 1; first <= max_parts; first += parts_per_stream_tier)
        total += parts_per_stream_tier * part_size(first);
    return total;
}

stream_plan plan_stream(std::uint64_t requested_part_size) {
    validate_part_size(requested_part_size);
    return stream_plan{requested_part_size};
}

} // namespace hoist::protocol
