// Pure engine pieces: backoff on a pinned random source, the pool's idle list
// on a fake clock, CRC32C and MD5 values, and the CLI's size parsing and
// progress formatting.
#include "hoist/engine/backoff.hpp"
#include "hoist/engine/integrity.hpp"
#include "idle_list.hpp"

#include <boost/test/unit_test.hpp>

#include <random>
#include <string>
#include <vector>

namespace e = hoist::engine;
namespace p = hoist::protocol;
using namespace std::chrono_literals;

namespace {

struct fake_clock {
    using duration = std::chrono::milliseconds;
    using rep = duration::rep;
    using period = duration::period;
    using time_point = std::chrono::time_point<fake_clock>;
};

fake_clock::time_point at(long ms) { return fake_clock::time_point(std::chrono::milliseconds(ms)); }

} // namespace

BOOST_AUTO_TEST_SUITE(engine_backoff)

BOOST_AUTO_TEST_CASE(ceiling_doubles_from_base_up_to_cap) {
    e::backoff_policy b{200ms, 5000ms, 5};
    BOOST_TEST(b.ceiling(1, false).count() == 200);
    BOOST_TEST(b.ceiling(2, false).count() == 400);
    BOOST_TEST(b.ceiling(3, false).count() == 800);
    BOOST_TEST(b.ceiling(5, false).count() == 3200);
    BOOST_TEST(b.ceiling(6, false).count() == 5000);
    BOOST_TEST(b.ceiling(60, false).count() == 5000);  // no overflow at large retry numbers
    BOOST_TEST(b.ceiling(1, true).count() == 1000);     // throttling starts higher
    BOOST_TEST(b.ceiling(3, true).count() == 4000);
}

BOOST_AUTO_TEST_CASE(delays_are_full_jitter_within_the_ceiling) {
    e::backoff_policy b{100ms, 10'000ms, 5};
    std::mt19937_64 rng(42);
    long below_half = 0;
    for (int i = 0; i < 2000; ++i) {
        auto d = b.delay(4, false, std::nullopt, rng);
        BOOST_REQUIRE(d.count() >= 0);
        BOOST_REQUIRE(d.count() <= 800);
        if (d.count() < 400) ++below_half;
    }
    // Full jitter spreads uniformly: about half the draws fall below half the ceiling.
    BOOST_TEST(below_half > 850);
    BOOST_TEST(below_half < 1150);
    std::mt19937_64 a(7), c(7);
    BOOST_TEST(b.delay(3, false, std::nullopt, a).count() == b.delay(3, false, std::nullopt, c).count());
}

BOOST_AUTO_TEST_CASE(without_jitter_delays_are_the_ceilings) {
    e::backoff_policy b{1000ms, 4000ms, 5, false};
    std::mt19937_64 rng(1);
    BOOST_TEST(b.delay(1, false, std::nullopt, rng).count() == 1000);
    BOOST_TEST(b.delay(2, false, std::nullopt, rng).count() == 2000);
    BOOST_TEST(b.delay(3, false, std::nullopt, rng).count() == 4000);
    BOOST_TEST(b.delay(4, false, std::nullopt, rng).count() == 4000);
}

BOOST_AUTO_TEST_CASE(retry_after_is_a_floor) {
    e::backoff_policy b{100ms, 1000ms, 5};
    std::mt19937_64 rng(1);
    for (int i = 0; i < 100; ++i) BOOST_REQUIRE(b.delay(1, true, 3s, rng) >= 3000ms);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(engine_idle_list)

BOOST_AUTO_TEST_CASE(reuses_the_freshest_and_expires_the_old) {
    hoist::engine::detail::idle_list<int, fake_clock> idle(std::chrono::milliseconds(20'000), 3);
    std::vector<int> closed;
    auto discard = [&](int c) { closed.push_back(c); };
    BOOST_TEST(!idle.put(1, at(0)));
    BOOST_TEST(!idle.put(2, at(5'000)));
    BOOST_TEST(!idle.put(3, at(10'000)));
    auto overflow = idle.put(4, at(10'000));
    BOOST_REQUIRE(overflow.has_value());  // full: the caller closes it
    BOOST_TEST(*overflow == 4);

    auto got = idle.take(at(12'000), discard);  // LIFO: the most recently used
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(*got == 3);
    BOOST_TEST(closed.empty());

    got = idle.take(at(24'999), discard);  // 1 idled 24.999 s: expired; 2 idled 19.999 s: alive
    BOOST_REQUIRE(got.has_value());
    BOOST_TEST(*got == 2);
    BOOST_TEST(closed == std::vector<int>{1});

    BOOST_TEST(!idle.put(5, at(30'000)));
    BOOST_TEST(!idle.take(at(50'000), discard).has_value());  // exactly the timeout: expired
    BOOST_TEST(closed == (std::vector<int>{1, 5}));
    BOOST_TEST(idle.size() == 0u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(engine_integrity)

BOOST_AUTO_TEST_CASE(crc32c_matches_the_standard_check_value) {
    e::crc32c c;
    c.update("123456789", 9);
    BOOST_TEST(c.value() == 0xE3069283u);  // the CRC-32C check value (RFC 3720 / iSCSI)
    BOOST_TEST(c.base64() == "4waSgw==");
    e::crc32c empty;
    BOOST_TEST(empty.value() == 0u);
    BOOST_TEST(empty.base64() == "AAAAAA==");
}

BOOST_AUTO_TEST_CASE(incremental_equals_one_shot) {
    std::string data(1'000'003, '\0');
    std::mt19937 rng(3);
    for (auto& ch : data) ch = static_cast<char>(rng());
    for (auto kind : {p::integrity::kind::crc32c, p::integrity::kind::md5}) {
        e::integrity_builder b(kind);
        for (std::size_t off = 0; off < data.size(); off += 65536)
            b.update(data.data() + off, std::min<std::size_t>(65536, data.size() - off));
        auto inc = b.finish();
        auto one = e::compute_integrity(kind, data);
        BOOST_TEST(inc.base64 == one.base64);
        BOOST_TEST((inc.type == kind));
    }
    BOOST_TEST(e::compute_integrity(p::integrity::kind::md5, "").base64 == "1B2M2Y8AsgTpgAmY7PhCfg==");
    BOOST_TEST(e::compute_integrity(p::integrity::kind::none, "abc").base64.empty());
}

BOOST_AUTO_TEST_CASE(crc32c_and_content_md5_come_from_one_pass) {
    std::string data(700'001, '\0');
    std::mt19937 rng(4);
    for (auto& ch : data) ch = static_cast<char>(rng());
    e::integrity_builder b(p::integrity::kind::crc32c, /*content_md5=*/true);
    for (std::size_t off = 0; off < data.size(); off += 65536)
        b.update(data.data() + off, std::min<std::size_t>(65536, data.size() - off));
    auto both = b.finish();
    BOOST_TEST((both.type == p::integrity::kind::crc32c));
    BOOST_TEST(both.base64 == e::compute_integrity(p::integrity::kind::crc32c, data).base64);
    BOOST_TEST(both.content_md5 == e::compute_integrity(p::integrity::kind::md5, data).base64);
    BOOST_TEST(e::compute_integrity(p::integrity::kind::crc32c, data).content_md5.empty());
    // md5 and none have no second value.
    BOOST_TEST(e::compute_integrity(p::integrity::kind::md5, data, true).content_md5.empty());
    BOOST_TEST(e::compute_integrity(p::integrity::kind::none, data, true).content_md5.empty());
}

BOOST_AUTO_TEST_SUITE_END()
