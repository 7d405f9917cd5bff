// Part planning within S3's multipart limits. Pure arithmetic.
//
// S3's rules: every part but the last is at least 5 MiB, no part exceeds 5 GiB,
// an upload has at most 10,000 parts; so an object is at most 10,000 x 5 GiB
// (48.8 TiB; S3's object maximum was raised to 50 TB in 2025). A requested part
// size is a floor, not a promise: when a file would need more than 10,000 parts
// the part size grows (to a whole number of MiB) until it fits.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string_view>

namespace hoist::protocol {

inline constexpr std::uint64_t mib = 1024ull * 1024;
inline constexpr std::uint64_t gib = 1024 * mib;
inline constexpr std::uint64_t min_part_size = 5 * mib;
inline constexpr std::uint64_t max_part_size = 5 * gib;
inline constexpr std::uint32_t max_parts = 10'000;
inline constexpr std::uint64_t max_object_size = max_parts * max_part_size;

// Thrown for a part size or object size S3 cannot accept; what() says why.
class plan_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

// The layout of a known-size object. Part numbers are 1-based, as in S3.
struct part_plan {
    std::uint64_t object_size = 0;
    std::uint64_t part_size = 0;     // every part but the last
    std::uint32_t part_count = 0;    // >= 1 (a 0-byte object is one empty part)
    std::uint64_t last_part_size = 0;

    std::uint64_t offset(std::uint32_t part_number) const;  // byte offset of the part
    std::uint64_t size(std::uint32_t part_number) const;    // its length
};

// Throws plan_error when requested_part_size is below 5 MiB or above 5 GiB (with
// a message saying S3's rule and, below 5 MiB, that 512 KB chunks are refused),
// or when object_size exceeds max_object_size.
void validate_part_size(std::uint64_t requested_part_size);
part_plan plan_parts(std::uint64_t object_size, std::uint64_t requested_part_size);

// The part size that cuts an object of `object_size` bytes into at least
// `connections` parts when S3's 5 MiB minimum allows: ceil(size / connections)
// rounded up to a whole MiB, but never above `part_size` nor below 5 MiB. A
// file that would make fewer parts than there are connections leaves some of
// them idle and puts most bytes on one TCP flow: on a lossy link, where one
// CUBIC flow gets a fraction of the line, that flow sets the upload's time.
// Objects of connections x part_size or more get `part_size` unchanged.
std::uint64_t spread_part_size(std::uint64_t object_size, std::uint64_t part_size, unsigned connections);

// How the sender's TCP congestion control answers random loss: loss-based
// (CUBIC, Reno, ...) halves its window on each loss, so one flow on a lossy
// path gets a fraction of the line and only more flows fill it; model-based
// (BBR) paces at its estimate of the bottleneck rate and keeps it through
// random loss, so one flow fills the line by itself.
enum class congestion_response { unknown, loss_based, model_based };
// From the kernel's name for the algorithm (TCP_CONGESTION): "bbr" and its
// versions are model-based, any other name loss-based, "" unknown.
congestion_response classify_congestion_control(std::string_view name);

// How many of `part_count` parts to send at once, at most `concurrency`.
// Under a model-based congestion control an upload of two parts goes one part
// at a time: a second flow cannot make the line faster, and two BBR flows
// share it unevenly, each probing for more bandwidth only once per 8 RTT, so
// the flow left alone when the other finishes starts from half the line's rate
// and needs several probe cycles to take the rest (engine/DESIGN.md has the
// measurement on bench/run's unstable bed). From three parts up, flows overlap for most of the
// upload and more of them help with per-connection limits on fast paths, so
// the plan keeps `concurrency` there.
unsigned parts_in_flight(unsigned concurrency, std::uint32_t part_count, congestion_response cc);

// The layout of a stream of unknown size. Part sizes grow as the stream does:
// base for parts 1..1000, 2 x base for 1001..2000, doubling every 1,000 parts,
// never above 5 GiB; so small streams use small buffers and long ones still fit
// in 10,000 parts. Memory stays concurrency x part_size(current part).
struct stream_plan {
    std::uint64_t base_part_size = 0;

    std::uint64_t part_size(std::uint32_t part_number) const;
    // The largest stream this plan can carry in 10,000 parts.
    std::uint64_t max_stream_size() const;
};

stream_plan plan_stream(std::uint64_t requested_part_size);  // validates like plan_parts

} // namespace hoist::protocol
