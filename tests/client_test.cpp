// One client, many uploads (issue 14): a test program with its own io_context
// co_awaits 200 concurrent uploads (0 B to 64 MiB; files, memory, streams;
// some through the presign service) through one client against the strict
// in-process S3 server. Also the regression tests for the driver's bugs: a
// stream through the service past the URLs `start` handed out, and a cancel
// while CompleteMultipartUpload is in flight.
#include "s3_test_server.hpp"
#include "service_instance.hpp"

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
#include <thread>

namespace asio = boost::asio;
namespace e = hoist::engine;
namespace p = hoist::protocol;
namespace t = hoist::test;
namespace fs = std::filesystem;
using namespace std::chrono_literals;

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

struct fixture {
    t::s3_test_server storage;
    fs::path dir = fs::temp_directory_path() / ("hoist-client-" + std::to_string(::getpid()));
    fixture() {
        storage.create_bucket("bucket");
        fs::create_directories(dir);
    }
    ~fixture() { fs::remove_all(dir); }

    e::upload_options direct(const std::string& key) const {
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

    e::upload_options via(const t::service_instance& svc, const std::string& name) const {
        e::upload_options o;
        o.via = e::via_service{p::parse_endpoint(svc.url()), hoist::sigv4::secret_string(t::alice_token), name};
        o.tls.ca_file = storage.ca_file();
        o.concurrency = 3;
        o.backoff_base = 10ms;
        o.backoff_cap = 100ms;
        o.seed = 1;
        return o;
    }
};

// A pipe fed by a thread: the read end for upload_source::descriptor.
struct pipe_feed {
    int fds[2] = {-1, -1};
    std::thread writer;
    explicit pipe_feed(std::shared_ptr<const std::string> data) {
        BOOST_REQUIRE(::pipe(fds) == 0);
        writer = std::thread([data, w = fds[1]] {
            std::size_t off = 0;
            while (off < data->size()) {
                auto n = ::write(w, data->data() + off, std::min<std::size_t>(65536, data->size() - off));
                if (n <= 0) break;
                off += static_cast<std::size_t>(n);
            }
            ::close(w);
        });
    }
    ~pipe_feed() {
        ::close(fds[0]);   // a writer still blocked (a failed test) gets EPIPE and ends
        writer.join();
    }
};

struct planned_upload {
    std::shared_ptr<const std::string> data;
    enum class kind { memory, file, stream } source = kind::memory;
    bool via = false;
    std::string key;                       // direct: the key; via: the name
    std::optional<e::upload_result> result;
    std::optional<e::upload_error> error;
    // Emitted (terminal) from the upload's own progress callback once a part is
    // confirmed: its multipart upload exists then, and other parts are in flight.
    asio::cancellation_signal* cancel_after_first_part = nullptr;
};

// One upload awaited by its own coroutine: the test program's view of the API.
asio::awaitable<void> await_upload(e::client& client, planned_upload& u, e::upload_source source,
                                   e::upload_options options, asio::cancellation_slot slot) {
    auto progress = [&u](const e::progress& p) {
        if (p.bytes_acked > 0 && u.cancel_after_first_part)
            std::exchange(u.cancel_after_first_part, nullptr)->emit(asio::cancellation_type::terminal);
    };
    try {
        if (slot.is_connected())
            u.result = co_await client.async_upload(std::move(source), std::move(options), progress,
                                                    asio::bind_cancellation_slot(slot, asio::use_awaitable));
        else
            u.result = co_await client.async_upload(std::move(source), std::move(options), progress,
                                                    asio::use_awaitable);
    } catch (const e::upload_error& err) {
        u.error = err;
    }
}

} // namespace

BOOST_AUTO_TEST_SUITE(one_client)

BOOST_AUTO_TEST_CASE(two_hundred_concurrent_uploads_share_one_client) {
    fixture f;
    t::service_instance svc(f.storage);
    constexpr std::size_t limit_connections = 8;
    constexpr std::uint64_t limit_buffered = 16 * MiB;

    // Sizes from 0 B to 64 MiB: mostly small, some multipart, one big.
    std::vector<planned_upload> uploads(200);
    std::vector<std::unique_ptr<pipe_feed>> pipes;
    for (std::size_t i = 0; i < uploads.size(); ++i) {
        std::size_t size = i == 0 ? 64 * MiB : i % 25 == 0 ? 12 * MiB + i : i % 7 == 0 ? 0 : (i * 7919) % (256 * 1024);
        auto& u = uploads[i];
        u.data = random_bytes(size, static_cast<unsigned>(i));
        u.via = i % 10 == 3 || i == 50;
        u.source = i % 9 == 4 || i == 75 || i == 125 ? planned_upload::kind::stream
                 : i % 9 == 5                          ? planned_upload::kind::file
                                                       : planned_upload::kind::memory;
        u.key = "k/" + std::to_string(i) + (u.via ? ".bin" : "");
    }
    const std::size_t cancelled = 25;   // 12 MiB, direct, multipart: cancelled once a part is done
    uploads[cancelled].via = false;
    uploads[cancelled].source = planned_upload::kind::memory;
    asio::cancellation_signal cancel_one;
    uploads[cancelled].cancel_after_first_part = &cancel_one;

    asio::io_context ioc;
    e::client client(ioc.get_executor(), e::client_options{limit_connections, limit_buffered});
    for (std::size_t i = 0; i < uploads.size(); ++i) {
        auto& u = uploads[i];
        auto options = u.via ? f.via(svc, "u" + std::to_string(i) + ".bin") : f.direct(u.key);
        std::optional<e::upload_source> source;
        switch (u.source) {
        case planned_upload::kind::memory: source = e::upload_source::memory(u.data); break;
        case planned_upload::kind::file: {
            auto path = f.dir / ("src" + std::to_string(i));
            std::ofstream(path, std::ios::binary) << *u.data;
            source = e::upload_source::file(path.string());
            break;
        }
        case planned_upload::kind::stream:
            pipes.push_back(std::make_unique<pipe_feed>(u.data));
            source = e::upload_source::descriptor(pipes.back()->fds[0]);
            break;
        }
        auto slot = i == cancelled ? cancel_one.slot() : asio::cancellation_slot();
        asio::co_spawn(ioc, await_upload(client, u, std::move(*source), std::move(options), slot), asio::detached);
    }
    ioc.run_for(180s);
    BOOST_REQUIRE_MESSAGE(ioc.stopped(), "the uploads did not all end within 180 s");

    auto stats = client.stats();
    BOOST_TEST(stats.uploads_started == uploads.size());
    BOOST_TEST(stats.uploads_running == 0u);
    BOOST_TEST(stats.uploads_succeeded == uploads.size() - 1);
    BOOST_TEST(stats.uploads_failed == 1u);
    BOOST_TEST(stats.bytes_in_flight == 0u);
    BOOST_TEST(stats.connections_peak <= limit_connections);
    BOOST_TEST(stats.connections_peak >= 2u);   // the uploads did share the budget, not run one by one
    BOOST_TEST(stats.buffered_peak <= limit_buffered);
    BOOST_TEST(stats.buffered_peak > 0u);       // the streams did read ahead through the budget

    std::size_t ok = 0, via_ok = 0, streams_ok = 0;
    for (std::size_t i = 0; i < uploads.size(); ++i) {
        const auto& u = uploads[i];
        BOOST_TEST_CONTEXT("upload " << i << " (" << u.data->size() << " B" << (u.via ? ", via" : "") << ")") {
            if (i == cancelled) {
                BOOST_REQUIRE(u.error.has_value());
                BOOST_TEST((u.error->code() == e::upload_errc::cancelled), u.error->what());
                BOOST_TEST(u.error->aborted());
                BOOST_TEST(!f.storage.object("bucket", u.key).has_value());
                continue;
            }
            BOOST_REQUIRE_MESSAGE(u.result.has_value(), (u.error ? u.error->what() : "no outcome"));
            auto stored = f.storage.object("bucket", u.result->key);
            BOOST_REQUIRE(stored.has_value());
            BOOST_TEST((*stored == *u.data), "stored object differs");
            ++ok;
            via_ok += u.via;
            streams_ok += u.source == planned_upload::kind::stream;
        }
    }
    BOOST_TEST(ok == uploads.size() - 1);
    BOOST_TEST(via_ok >= 20u);
    BOOST_TEST(streams_ok >= 20u);
    BOOST_TEST(f.storage.open_uploads().empty());
    BOOST_TEST(f.storage.aborted_uploads().size() == 1u);
    BOOST_TEST(f.storage.statistics().signature_failures == 0);
}

// Bug: a stream through the service (size unknown) asked the service to
// presign no part numbers once it needed a URL `start` had not handed out
// ("partNumbers must list at least one part number", HTTP 400). With
// url_batch 1, start hands out part 1 only.
BOOST_AUTO_TEST_CASE(a_stream_through_the_service_gets_urls_past_the_first_batch) {
    fixture f;
    t::service_instance svc(f.storage, R"(, "url_batch":1)");
    auto data = random_bytes(20 * MiB + 7, 99);   // 8 + 8 + 4 MiB parts: two past the first batch
    pipe_feed feed(data);
    e::client client;
    e::upload_result r;
    try {
        r = client.upload(e::upload_source::descriptor(feed.fds[0]), f.via(svc, "stream.bin"));
    } catch (const e::upload_error& err) {
        BOOST_FAIL("the stream through the service failed: " << err.what());
    }
    BOOST_TEST(r.parts == 3u);
    auto stored = f.storage.object("bucket", r.key);
    BOOST_REQUIRE(stored.has_value());
    BOOST_TEST((*stored == *data));
}

// Bug: a cancel while CompleteMultipartUpload was in flight sent an Abort,
// reported "cancelled (multipart upload aborted)", and yet the object was
// stored. Nothing is aborted while a Complete is in flight: the Complete's
// outcome is the upload's outcome.
BOOST_AUTO_TEST_CASE(a_cancel_during_complete_does_not_abort_a_stored_object) {
    fixture f;
    f.storage.inject({t::s3_op::complete, std::nullopt, 1}, {t::fault_kind::slow_first_byte, 1500ms, 1});
    auto data = random_bytes(10 * MiB, 7);
    e::client client;
    e::cancel_token cancel;
    std::thread canceller([&] {
        for (int i = 0; i < 3000 && f.storage.statistics().by_op[t::s3_op::complete] == 0; ++i)
            std::this_thread::sleep_for(5ms);
        std::this_thread::sleep_for(100ms);   // the Complete is being answered (slowly)
        cancel.cancel();
    });
    std::optional<e::upload_result> result;
    std::optional<e::upload_error> error;
    try {
        result = client.upload(e::upload_source::memory(data), f.direct("late-cancel"), {}, cancel);
    } catch (const e::upload_error& err) {
        error = err;
    }
    canceller.join();
    BOOST_TEST(cancel.cancelled());
    auto stored = f.storage.object("bucket", "late-cancel");
    BOOST_REQUIRE_MESSAGE(stored.has_value(), "the Complete was sent, so the object must be stored");
    BOOST_TEST((*stored == *data));
    BOOST_TEST(f.storage.aborted_uploads().empty(), "no Abort may be sent while a Complete is in flight");
    BOOST_TEST(f.storage.statistics().by_op[t::s3_op::abort] == 0);
    // The outcome reported is the object's: stored.
    BOOST_REQUIRE_MESSAGE(result.has_value(), (error ? error->what() : ""));
    BOOST_TEST(result->bytes == data->size());
}

BOOST_AUTO_TEST_SUITE_END()
