// The bandwidth cap (client_options::max_bytes_per_second,
// upload_options::max_bytes_per_second) against the strict in-process S3
// server. Every timing assertion is an upper bound on bytes (sent <= rate x
// elapsed + burst), which a slow machine only makes easier to meet: never a
// lower bound on speed. Also: waiting for the cap is not a stall, and an upload
// cancelled while it waits for the cap ends at once and is aborted.
#include "s3_test_server.hpp"

#include "hoist/engine/client.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>

namespace asio = boost::asio;
namespace e = hoist::engine;
namespace p = hoist::protocol;
namespace t = hoist::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

std::shared_ptr<const std::string> random_bytes(std::size_t n, unsigned seed) {
    std::string s(n, '\0');
    std::mt19937_64 rng(seed);
    for (std::size_t i = 0; i < n; i += 8) {
        auto v = rng();
        std::memcpy(s.data() + i, &v, std::min<std::size_t>(8, n - i));
    }
    return std::make_shared<const std::string>(std::move(s));
}

e::upload_options direct(const t::s3_test_server& storage, const std::string& key) {
    e::upload_options o;
    o.location = p::locate(p::parse_endpoint(storage.endpoint_url()), "bucket", key, p::addressing::path);
    o.region = "us-east-1";
    hoist::sigv4::credentials c;
    c.access_key_id = storage.config().access_key_id;
    c.secret_access_key = hoist::sigv4::secret_string(storage.config().secret);
    o.signer = std::make_shared<hoist::sigv4::signer>(c);
    o.tls.ca_file = storage.ca_file();
    o.part_size = 5 * MiB;
    o.concurrency = 4;
    o.backoff_base = 10ms;
    o.backoff_cap = 100ms;
    o.stall_timeout = 5s;
    o.response_timeout = 10s;
    o.seed = 1;
    o.congestion_control = "cubic";
    return o;
}

struct outcome {
    std::optional<e::upload_result> result;
    std::optional<e::upload_error> error;
};

asio::awaitable<void> await_upload(e::client& client, std::shared_ptr<const std::string> data, e::upload_options o,
                                   outcome& out, asio::cancellation_slot slot) {
    try {
        out.result = co_await client.async_upload(e::upload_source::memory(std::move(data)), std::move(o), {},
                                                  asio::bind_cancellation_slot(slot, asio::use_awaitable));
    } catch (const e::upload_error& err) {
        out.error = err;
    }
}

// Samples the client's sent bytes (confirmed + in flight) every 50 ms until
// `done()`: the worst excess over rate x elapsed + burst, where `elapsed`
// counts from `start` (taken before the first byte could be paid for, so it
// can only overstate the time the cap had).
struct sampler {
    double worst_excess = -1e18;
    int samples = 0;
};

asio::awaitable<void> sample_sent(e::client& client, steady::time_point start, double rate, double burst,
                                  std::function<bool()> done, sampler& out) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    for (int i = 0; i < 2000 && !done(); ++i) {   // bounded: 100 s at most
        timer.expires_after(50ms);
        co_await timer.async_wait(asio::use_awaitable);
        auto s = client.stats();
        double elapsed = std::chrono::duration<double>(steady::now() - start).count();
        double sent = static_cast<double>(s.bytes_acked + s.bytes_in_flight);
        out.worst_excess = std::max(out.worst_excess, sent - (rate * elapsed + burst));
        ++out.samples;
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(bandwidth_cap)

// Two uploads on one client share one cap: at no moment have they sent more
// than the rate allows since the client began, and both arrive whole.
BOOST_AUTO_TEST_CASE(a_capped_client_never_sends_more_than_rate_times_time_plus_burst) {
    t::s3_test_server storage;
    storage.create_bucket("bucket");
    constexpr double rate = 8e6;                                    // 8 MB/s: 24 MiB take >= 2.9 s
    constexpr double burst = 800e3;                                 // 100 ms of the rate
    auto a = random_bytes(12 * MiB, 1), b = random_bytes(12 * MiB + 5, 2);

    auto start = steady::now();
    asio::io_context ioc;
    e::client_options copt;
    copt.max_bytes_per_second = static_cast<std::uint64_t>(rate);
    e::client client(ioc.get_executor(), copt);
    outcome ra, rb;
    sampler s;
    asio::co_spawn(ioc, await_upload(client, a, direct(storage, "a"), ra, {}), asio::detached);
    asio::co_spawn(ioc, await_upload(client, b, direct(storage, "b"), rb, {}), asio::detached);
    auto done = [&] { return (ra.result || ra.error) && (rb.result || rb.error); };
    asio::co_spawn(ioc, sample_sent(client, start, rate, burst, done, s), asio::detached);
    ioc.run_for(120s);
    BOOST_REQUIRE_MESSAGE(ioc.stopped(), "the capped uploads did not end within 120 s");
    auto elapsed = std::chrono::duration<double>(steady::now() - start).count();

    BOOST_REQUIRE_MESSAGE(ra.result, (ra.error ? ra.error->what() : "no result"));
    BOOST_REQUIRE_MESSAGE(rb.result, (rb.error ? rb.error->what() : "no result"));
    BOOST_TEST(ra.result->retries == 0u);
    BOOST_TEST(rb.result->retries == 0u);
    BOOST_TEST((storage.object("bucket", "a") == *a));
    BOOST_TEST((storage.object("bucket", "b") == *b));
    // The whole run, and every sample along the way, within the cap.
    double total = static_cast<double>(a->size() + b->size());
    BOOST_TEST(total <= rate * elapsed + burst);
    BOOST_REQUIRE(s.samples > 0);
    BOOST_TEST(s.worst_excess <= 0.0);
    BOOST_TEST_MESSAGE("24 MiB at a cap of 8 MB/s: " << elapsed << " s (" << total / elapsed / 1e6 << " MB/s), "
                                                       << s.samples << " samples");
}

// The one-shot path: upload_options::max_bytes_per_second caps upload_file,
// which has no client of the caller's to carry a cap.
BOOST_AUTO_TEST_CASE(the_one_shot_upload_file_takes_the_upload_cap) {
    t::s3_test_server storage;
    storage.create_bucket("bucket");
    auto data = random_bytes(6 * MiB, 3);
    auto path = std::filesystem::temp_directory_path() / ("hoist-bandwidth-" + std::to_string(::getpid()));
    std::ofstream(path, std::ios::binary) << *data;
    auto o = direct(storage, "own");
    o.max_bytes_per_second = 4'000'000;
    auto start = steady::now();
    std::optional<e::upload_result> result;
    try {
        result = e::upload_file(path.string(), o);
    } catch (const e::upload_error& err) {
        BOOST_ERROR(err.what());
    }
    auto elapsed = std::chrono::duration<double>(steady::now() - start).count();
    std::filesystem::remove(path);
    BOOST_REQUIRE(result);
    BOOST_TEST(result->bytes == data->size());
    BOOST_TEST((storage.object("bucket", "own") == *data));
    BOOST_TEST(static_cast<double>(data->size()) <= 4e6 * elapsed + 400e3);
}

// Waiting for the cap is not a stall: eight small uploads share 20 KB/s, so
// each connection waits ~1.6 s between its 4 KiB pieces, longer than the 1 s
// stall timeout; none is abandoned or retried.
BOOST_AUTO_TEST_CASE(waiting_for_the_cap_is_not_a_stall) {
    t::s3_test_server storage;
    storage.create_bucket("bucket");
    asio::io_context ioc;
    e::client_options copt;
    copt.max_bytes_per_second = 20'000;
    e::client client(ioc.get_executor(), copt);
    std::vector<outcome> out(8);
    std::vector<std::shared_ptr<const std::string>> data;
    for (std::size_t i = 0; i < out.size(); ++i) {
        data.push_back(random_bytes(12 * 1024, static_cast<unsigned>(10 + i)));
        auto o = direct(storage, "small/" + std::to_string(i));
        o.stall_timeout = 1s;
        asio::co_spawn(ioc, await_upload(client, data.back(), o, out[i], {}), asio::detached);
    }
    ioc.run_for(60s);
    BOOST_REQUIRE_MESSAGE(ioc.stopped(), "the uploads did not end within 60 s");
    for (std::size_t i = 0; i < out.size(); ++i) {
        BOOST_TEST_CONTEXT("upload " << i) {
            BOOST_REQUIRE_MESSAGE(out[i].result, (out[i].error ? out[i].error->what() : "no result"));
            BOOST_TEST(out[i].result->retries == 0u);
            BOOST_TEST((storage.object("bucket", "small/" + std::to_string(i)) == *data[i]));
        }
    }
}

// An upload cancelled while it waits for the cap ends at once (its waits are
// cut, not served), and its multipart upload is aborted. At 100 KB/s the
// 12 MiB would take two minutes.
BOOST_AUTO_TEST_CASE(a_cancel_while_throttled_ends_the_upload_promptly) {
    t::s3_test_server storage;
    storage.create_bucket("bucket");
    asio::io_context ioc;
    e::client_options copt;
    copt.max_bytes_per_second = 100'000;
    e::client client(ioc.get_executor(), copt);
    outcome out;
    asio::cancellation_signal cancel;
    asio::co_spawn(ioc, await_upload(client, random_bytes(12 * MiB, 4), direct(storage, "cut"), out, cancel.slot()),
                   asio::detached);
    asio::steady_timer later(ioc, 1s);
    later.async_wait([&](boost::system::error_code) { cancel.emit(asio::cancellation_type::terminal); });
    ioc.run_for(30s);
    BOOST_REQUIRE_MESSAGE(ioc.stopped(), "the cancelled upload did not end within 30 s");
    BOOST_REQUIRE(!out.result);
    BOOST_REQUIRE(out.error);
    BOOST_TEST((out.error->code() == e::upload_errc::cancelled));
    BOOST_TEST(out.error->aborted());
    BOOST_TEST(storage.open_uploads().empty());
    BOOST_TEST(!storage.object("bucket", "cut"));
}

BOOST_AUTO_TEST_SUITE_END()
