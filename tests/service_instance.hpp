// `hoist serve` in-process for tests: run_service on its own thread with the
// strict S3 test server as storage and two users (alice, bob), stopped and
// joined at scope exit. `extra` adds config fields (",\"url_batch\":1").
#pragma once

#include "s3_test_server.hpp"

#include "hoist/serve/service.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <boost/test/unit_test.hpp>

#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace hoist::test {

inline const std::string alice_token = "alice-bearer-token-0001";
inline const std::string bob_token = "bob-bearer-token-0002";
inline const std::string service_token_secret = "a-32-byte-or-longer-service-secret-for-tests";

// One service instance on its own thread, stopped and joined at scope exit.
class service_instance {
public:
    // `tweak` changes the options before the service starts (limits, log_probes).
    service_instance(const s3_test_server& storage, std::string extra = "",
                     const std::function<void(hoist::engine::service_options&)>& tweak = {}) {
        std::string config = R"({"listen":"127.0.0.1:0",
            "storage":{"endpoint":")" + storage.endpoint_url() + R"(","region":"us-east-1","bucket":"bucket",
                       "path_style":true)" +
                             (storage.ca_file().empty() ? "" : R"(,"ca_bundle":")" + storage.ca_file() + "\"") + R"(},
            "token_secret":")" + service_token_secret + R"(",
            "tokens":[{"sha256":")" + hoist::sigv4::sha256_hex(alice_token) + R"(","user":"alice"},
                      {"sha256":")" + hoist::sigv4::sha256_hex(bob_token) + R"(","user":"bob"}],
            "part_size":5242880, "cors_origins":["https://app.example"], "max_body_bytes":4096)" +
                             extra + "}";
        options_.config = hoist::protocol::parse_service_config(config);
        options_.storage_credentials.access_key_id = storage.config().access_key_id;
        options_.storage_credentials.secret_access_key = hoist::sigv4::secret_string(storage.config().secret);
        options_.log = [this](std::string_view line) {
            std::lock_guard lock(mutex_);
            log_.emplace_back(line);
        };
        if (tweak) tweak(options_);
        std::promise<std::uint16_t> port;
        options_.on_listening = [&port](std::uint16_t p) { port.set_value(p); };
        thread_ = std::thread([this] { hoist::engine::run_service(options_, cancel_); });
        auto f = port.get_future();
        BOOST_REQUIRE(f.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
        port_ = f.get();
    }
    ~service_instance() {
        cancel_.cancel();
        thread_.join();
    }
    std::uint16_t port() const { return port_; }
    std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
    std::vector<std::string> log() const {
        std::lock_guard lock(mutex_);
        return log_;
    }

private:
    hoist::engine::service_options options_;
    hoist::engine::cancel_token cancel_;
    std::thread thread_;
    std::uint16_t port_ = 0;
    mutable std::mutex mutex_;
    std::vector<std::string> log_;
};

} // namespace hoist::test
