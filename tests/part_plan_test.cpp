// Part planning: S3's 5 MiB / 5 GiB / 10,000-part limits, growth of the part
// size for large objects, and the growing part sizes of streams.
#include "hoist/protocol/s3/part_plan.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>
#include <limits>
#include <string>

using namespace hoist::protocol;

namespace {

constexpr std::uint64_t kib = 1024;
constexpr std::uint64_t tib = 1024 * gib;
constexpr std::uint64_t default_request = 8 * mib;  // the CLI's default --part-size

std::uint64_t ceil_div(std::uint64_t n, std::uint64_t d) { return n / d + (n % d != 0); }

// What every plan must satisfy for S3 to accept the upload it describes.
void check_invariants(const part_plan& p) {
    BOOST_TEST_CONTEXT("object_size " << p.object_size << ", part_size " << p.part_size) {
        BOOST_TEST_REQUIRE(p.part_count >= 1u);
        BOOST_TEST_REQUIRE(p.part_count <= max_parts);
        BOOST_TEST(p.last_part_size <= p.part_size);
        BOOST_TEST(p.part_size >= min_part_size);
        BOOST_TEST(p.part_size <= max_part_size);
        std::uint64_t next_offset = 0;
        for (std::uint32_t n = 1; n <= p.part_count; ++n) {
            BOOST_TEST_REQUIRE(p.offset(n) == next_offset);
            if (n < p.part_count) {
                BOOST_TEST_REQUIRE(p.size(n) == p.part_size);
            } else {
                BOOST_TEST_REQUIRE(p.size(n) == p.last_part_size);
                // Only the final part may be empty, and only for an empty object.
                BOOST_TEST_REQUIRE((p.size(n) > 0 || p.object_size == 0));
            }
            next_offset += p.size(n);
        }
        BOOST_TEST(next_offset == p.object_size);
    }
}

part_plan checked_plan(std::uint64_t size, std::uint64_t request) {
    part_plan p = plan_parts(size, request);
    check_invariants(p);
    return p;
}

// The message of the plan_error that `f` throws; fails the test if none.
template <class F>
std::string plan_error_message(F f) {
    try {
        f();
    } catch (const plan_error& e) {
        return e.what();
    }
    BOOST_FAIL("expected plan_error");
    return {};
}

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

} // namespace

BOOST_AUTO_TEST_SUITE(part_plan_suite)

BOOST_AUTO_TEST_CASE(empty_object_is_one_empty_part) {
    part_plan p = checked_plan(0, default_request);
    BOOST_TEST(p.part_count == 1u);
    BOOST_TEST(p.last_part_size == 0u);
    BOOST_TEST(p.part_size == default_request);
    BOOST_TEST(p.offset(1) == 0u);
    BOOST_TEST(p.size(1) == 0u);
}

BOOST_AUTO_TEST_CASE(one_byte) {
    part_plan p = checked_plan(1, default_request);
    BOOST_TEST(p.part_count == 1u);
    BOOST_TEST(p.size(1) == 1u);
}

BOOST_AUTO_TEST_CASE(around_the_5_mib_minimum) {
    part_plan below = checked_plan(5 * mib - 1, min_part_size);
    BOOST_TEST(below.part_count == 1u);
    BOOST_TEST(below.last_part_size == 5 * mib - 1);

    part_plan exact = checked_plan(5 * mib, min_part_size);
    BOOST_TEST(exact.part_count == 1u);
    BOOST_TEST(exact.last_part_size == 5 * mib);

    part_plan above = checked_plan(5 * mib + 1, min_part_size);
    BOOST_TEST(above.part_count == 2u);
    BOOST_TEST(above.size(1) == 5 * mib);
    BOOST_TEST(above.offset(2) == 5 * mib);
    BOOST_TEST(above.size(2) == 1u);

    // With the default 8 MiB request the same sizes are all one part.
    BOOST_TEST(checked_plan(5 * mib + 1, default_request).part_count == 1u);
}

BOOST_AUTO_TEST_CASE(fifty_gb_fits_without_growing) {
    // 50 GB / 8 MiB = 5960.5 parts: well under 10,000, so the request stands.
    // (Growth starts above 10,000 x 8 MiB = 83.9 GB; see the next cases.)
    const std::uint64_t size = 50'000'000'000ull;
    part_plan p = checked_plan(size, default_request);
    BOOST_TEST(p.part_size == default_request);
    BOOST_TEST(p.part_count == 5961u);
    BOOST_TEST(p.last_part_size == 3'896'320u);

    part_plan smallest = checked_plan(size, min_part_size);
    BOOST_TEST(smallest.part_size == min_part_size);
    BOOST_TEST(smallest.part_count == 9537u);
}

BOOST_AUTO_TEST_CASE(growth_starts_exactly_past_10000_parts) {
    part_plan fits = checked_plan(max_parts * default_request, default_request);
    BOOST_TEST(fits.part_size == default_request);
    BOOST_TEST(fits.part_count == max_parts);

    part_plan grows = checked_plan(max_parts * default_request + 1, default_request);
    BOOST_TEST(grows.part_size == 9 * mib);
    BOOST_TEST(grows.part_count == ceil_div(max_parts * default_request + 1, 9 * mib));
}

BOOST_AUTO_TEST_CASE(hundred_gb_grows_to_10_mib) {
    part_plan p = checked_plan(100'000'000'000ull, default_request);
    BOOST_TEST(p.part_size == 10 * mib);
    BOOST_TEST(p.part_count == 9537u);
    BOOST_TEST(p.last_part_size == 7'792'640u);
}

BOOST_AUTO_TEST_CASE(five_tib_grows_to_525_mib) {
    const std::uint64_t size = 5 * tib;
    part_plan p = checked_plan(size, default_request);
    BOOST_TEST(p.part_size == 525 * mib);
    BOOST_TEST(p.part_count == 9987u);
    BOOST_TEST(p.last_part_size == 230 * mib);
    // One MiB less would not fit: 525 MiB is the smallest whole MiB that does.
    BOOST_TEST(ceil_div(size, 524 * mib) > max_parts);
}

BOOST_AUTO_TEST_CASE(larger_request_than_needed_is_kept) {
    part_plan p = checked_plan(5 * tib, gib);
    BOOST_TEST(p.part_size == gib);
    BOOST_TEST(p.part_count == 5120u);
}

BOOST_AUTO_TEST_CASE(grown_size_is_the_smallest_whole_mib) {
    const std::uint64_t sizes[] = {
        max_parts * min_part_size + 1, 83'886'080'001ull, 123'456'789'012ull,
        1 * tib, 10 * tib + 12345, 40 * tib - 1, max_object_size - 1};
    for (std::uint64_t size : sizes) {
        BOOST_TEST_CONTEXT("size " << size) {
            part_plan p = checked_plan(size, min_part_size);
            BOOST_TEST(p.part_size % mib == 0u);
            BOOST_TEST(ceil_div(size, p.part_size) <= max_parts);
            BOOST_TEST(ceil_div(size, p.part_size - mib) > max_parts);
        }
    }
}

BOOST_AUTO_TEST_CASE(max_object_size_is_accepted) {
    part_plan p = checked_plan(max_object_size, default_request);
    BOOST_TEST(p.part_size == max_part_size);
    BOOST_TEST(p.part_count == max_parts);
    BOOST_TEST(p.last_part_size == max_part_size);
    BOOST_TEST(p.offset(max_parts) == max_object_size - max_part_size);
}

BOOST_AUTO_TEST_CASE(one_byte_over_max_object_size_is_refused) {
    std::string msg = plan_error_message([] { plan_parts(max_object_size + 1, default_request); });
    BOOST_TEST(contains(msg, std::to_string(max_object_size + 1)));
    BOOST_TEST(contains(msg, "10,000"));
    BOOST_TEST(contains(msg, "5 GiB"));
    BOOST_CHECK_THROW(plan_parts(std::numeric_limits<std::uint64_t>::max(), max_part_size),
                      plan_error);
}

BOOST_AUTO_TEST_CASE(the_original_512_kb_chunks_are_refused) {
    for (std::uint64_t request : {512 * kib, std::uint64_t{512'000}}) {
        std::string msg = plan_error_message([&] { plan_parts(100 * mib, request); });
        BOOST_TEST(contains(msg, "5 MiB"));
        BOOST_TEST(contains(msg, "512 KB"));
        BOOST_TEST(contains(msg, "every part but the last"));
    }
}

BOOST_AUTO_TEST_CASE(part_size_bounds) {
    BOOST_CHECK_THROW(validate_part_size(0), plan_error);
    BOOST_CHECK_THROW(validate_part_size(min_part_size - 1), plan_error);
    BOOST_CHECK_NO_THROW(validate_part_size(min_part_size));
    BOOST_CHECK_NO_THROW(validate_part_size(max_part_size));
    std::string msg = plan_error_message([] { validate_part_size(max_part_size + 1); });
    BOOST_TEST(contains(msg, "5 GiB"));
    // The part size is checked even for objects that would need only one part.
    BOOST_CHECK_THROW(plan_parts(0, max_part_size + 1), plan_error);
    BOOST_CHECK_THROW(plan_parts(0, min_part_size - 1), plan_error);
}

BOOST_AUTO_TEST_CASE(plan_error_is_an_invalid_argument) {
    BOOST_CHECK_THROW(validate_part_size(1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(part_numbers_outside_the_plan_throw) {
    part_plan p = checked_plan(20 * mib + 3, min_part_size);
    BOOST_TEST(p.part_count == 5u);
    BOOST_CHECK_THROW(p.offset(0), std::out_of_range);
    BOOST_CHECK_THROW(p.size(0), std::out_of_range);
    BOOST_CHECK_THROW(p.offset(6), std::out_of_range);
    BOOST_CHECK_THROW(p.size(6), std::out_of_range);
    BOOST_CHECK_NO_THROW(p.size(5));
    BOOST_TEST(p.size(5) == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(stream_plan_suite)

BOOST_AUTO_TEST_CASE(sizes_double_every_1000_parts) {
    stream_plan s = plan_stream(default_request);
    BOOST_TEST(s.part_size(1) == 8 * mib);
    BOOST_TEST(s.part_size(1000) == 8 * mib);
    BOOST_TEST(s.part_size(1001) == 16 * mib);
    BOOST_TEST(s.part_size(2000) == 16 * mib);
    BOOST_TEST(s.part_size(2001) == 32 * mib);
    BOOST_TEST(s.part_size(9000) == 2048 * mib);
    BOOST_TEST(s.part_size(9001) == 4096 * mib);
    BOOST_TEST(s.part_size(10000) == 4096 * mib);
}

BOOST_AUTO_TEST_CASE(part_numbers_outside_1_to_10000_throw) {
    stream_plan s = plan_stream(default_request);
    BOOST_CHECK_THROW(s.part_size(0), std::out_of_range);
    BOOST_CHECK_THROW(s.part_size(10001), std::out_of_range);
    BOOST_CHECK_THROW(s.part_size(std::numeric_limits<std::uint32_t>::max()), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(default_base_carries_more_than_5_tib) {
    // 1,000 x 8 MiB x (1 + 2 + ... + 512) = 8 MiB x 1,023,000 = 8,184,000 MiB.
    stream_plan s = plan_stream(default_request);
    BOOST_TEST(s.max_stream_size() == 8'581'545'984'000ull);
    BOOST_TEST(s.max_stream_size() == 8'184'000ull * mib);
    BOOST_TEST(s.max_stream_size() > 5 * tib);
}

BOOST_AUTO_TEST_CASE(minimum_base_carries_less_than_5_tib) {
    // 5 MiB x 1,023,000 = 5,115,000 MiB, just under 5 TiB (5,242,880 MiB).
    stream_plan s = plan_stream(min_part_size);
    BOOST_TEST(s.max_stream_size() == 5'115'000ull * mib);
    BOOST_TEST(s.max_stream_size() < 5 * tib);
}

BOOST_AUTO_TEST_CASE(sizes_are_capped_at_5_gib) {
    stream_plan s = plan_stream(gib);
    BOOST_TEST(s.part_size(2001) == 4 * gib);
    BOOST_TEST(s.part_size(3001) == max_part_size);
    BOOST_TEST(s.part_size(10000) == max_part_size);
    // 1,000 x (1 + 2 + 4 + 7 x 5) GiB.
    BOOST_TEST(s.max_stream_size() == 42'000 * gib);

    BOOST_TEST(plan_stream(max_part_size).max_stream_size() == max_object_size);
}

BOOST_AUTO_TEST_CASE(every_size_is_within_s3_limits_and_nondecreasing) {
    for (std::uint64_t base : {min_part_size, default_request, 100 * mib, gib, max_part_size}) {
        BOOST_TEST_CONTEXT("base " << base) {
            stream_plan s = plan_stream(base);
            std::uint64_t previous = 0, total = 0;
            for (std::uint32_t n = 1; n <= max_parts; ++n) {
                std::uint64_t size = s.part_size(n);
                BOOST_TEST_REQUIRE(size >= min_part_size);
                BOOST_TEST_REQUIRE(size <= max_part_size);
                BOOST_TEST_REQUIRE(size >= previous);
                previous = size;
                total += size;
            }
            BOOST_TEST(s.max_stream_size() == total);
        }
    }
}

BOOST_AUTO_TEST_CASE(huge_base_does_not_overflow) {
    // Built directly, bypassing plan_stream's validation.
    stream_plan s{std::numeric_limits<std::uint64_t>::max()};
    BOOST_TEST(s.part_size(1) == max_part_size);
    BOOST_TEST(s.part_size(10000) == max_part_size);
    BOOST_TEST(s.max_stream_size() == max_object_size);
}

BOOST_AUTO_TEST_CASE(plan_stream_validates_like_plan_parts) {
    BOOST_CHECK_THROW(plan_stream(512 * kib), plan_error);
    BOOST_CHECK_THROW(plan_stream(max_part_size + 1), plan_error);
    BOOST_TEST(plan_stream(min_part_size).base_part_size == min_part_size);
}

BOOST_AUTO_TEST_CASE(small_files_are_spread_over_the_connections) {
    const std::uint64_t p8 = 8 * mib;
    // Fewer parts than connections: smaller parts, whole MiB, never below 5 MiB.
    BOOST_TEST(spread_part_size(10'000'000, p8, 8) == 5 * mib);        // 2 parts, not 8 MiB + 1.6 MB
    BOOST_TEST(spread_part_size(50'000'000, p8, 8) == 6 * mib);        // 8 parts of ~6 MiB, not 6 of 8 MiB
    BOOST_TEST(plan_parts(50'000'000, spread_part_size(50'000'000, p8, 8)).part_count == 8u);
    BOOST_TEST(spread_part_size(64 * mib, p8, 8) == p8);              // exactly one part per connection
    BOOST_TEST(spread_part_size(64 * mib + 1, p8, 8) == p8);
    BOOST_TEST(spread_part_size(100'000'000, p8, 8) == p8);           // large files: unchanged
    BOOST_TEST(spread_part_size(5'000'000'000, p8, 8) == p8);
    BOOST_TEST(spread_part_size(10'000'000, p8, 1) == p8);             // one connection: nothing to spread
    BOOST_TEST(spread_part_size(40 * mib, 64 * mib, 4) == 10 * mib);  // a larger requested size shrinks too
    BOOST_TEST(spread_part_size(0, p8, 8) == 5 * mib);
}

BOOST_AUTO_TEST_CASE(congestion_controls_are_told_apart_by_name) {
    BOOST_TEST((classify_congestion_control("bbr") == congestion_response::model_based));
    BOOST_TEST((classify_congestion_control("bbr2") == congestion_response::model_based));
    BOOST_TEST((classify_congestion_control("cubic") == congestion_response::loss_based));
    BOOST_TEST((classify_congestion_control("reno") == congestion_response::loss_based));
    BOOST_TEST((classify_congestion_control("") == congestion_response::unknown));
}

BOOST_AUTO_TEST_CASE(two_parts_go_one_at_a_time_only_under_bbr) {
    using enum congestion_response;
    // Two parts or fewer under BBR: one flow.
    BOOST_TEST(parts_in_flight(8, 2, model_based) == 1u);
    BOOST_TEST(parts_in_flight(8, 1, model_based) == 1u);
    // Loss-based or unknown: as many as there are parts, at most concurrency.
    BOOST_TEST(parts_in_flight(8, 2, loss_based) == 2u);
    BOOST_TEST(parts_in_flight(8, 2, unknown) == 2u);
    BOOST_TEST(parts_in_flight(8, 12, loss_based) == 8u);
    // Three parts and up: unchanged by the congestion control.
    BOOST_TEST(parts_in_flight(8, 3, model_based) == 3u);
    BOOST_TEST(parts_in_flight(8, 12, model_based) == 8u);
    BOOST_TEST(parts_in_flight(1, 12, model_based) == 1u);
    BOOST_TEST(parts_in_flight(4, 0, loss_based) == 1u);   // never zero
}

BOOST_AUTO_TEST_SUITE_END()
