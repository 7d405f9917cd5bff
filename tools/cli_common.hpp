// What every hoist subcommand shares: the AWS options (profile, region,
// endpoint, addressing) and turning them into credentials and an endpoint.
#pragma once

#include "hoist/protocol/aws_config.hpp"
#include "hoist/engine/upload.hpp"
#include "hoist/protocol/s3/endpoint.hpp"

#include <CLI/CLI.hpp>

#include <atomic>
#include <optional>
#include <thread>
#include <stdexcept>
#include <string>

namespace hoist::cli {

// A usage error found after parsing (bad combination, bad value): exit 2.
class usage_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

inline constexpr int exit_ok = 0;
inline constexpr int exit_failed = 1;  // the operation ran and failed
inline constexpr int exit_usage = 2;   // bad arguments, configuration or credentials

struct aws_options {
    std::optional<std::string> profile;
    std::optional<std::string> region;
    std::optional<std::string> endpoint_url;
    bool path_style = false;
    bool virtual_host = false;

    // Registers --profile, --region, --endpoint-url, --path-style, --virtual-host.
    void add_to(CLI::App& app);
};

struct aws_target {
    protocol::resolved_credentials credentials;
    std::string region;
    protocol::endpoint endpoint;
    protocol::addressing style = protocol::addressing::automatic;
};

// Resolves credentials (environment, then ~/.aws files), region and endpoint:
// --endpoint-url, else AWS_ENDPOINT_URL_S3, else AWS_ENDPOINT_URL, else AWS's
// endpoint for the region. Throws protocol::config_error / address_error.
aws_target resolve(const aws_options& opts, const protocol::env_lookup& env, const protocol::file_reader& files);

// SIGINT/SIGTERM cancel a token (an upload, which then aborts its multipart
// upload; the service, which then stops). The signals are blocked in every
// thread and read from a signalfd by a thread of this object's own, so no
// async-signal-safety rules apply. The destructor wakes that thread through an
// eventfd (no polling tick: an exit never waits for one). Construct it before
// any other thread, so every later thread inherits the blocked mask.
class signal_watcher {
public:
    explicit signal_watcher(engine::cancel_token token, std::string message = {});
    ~signal_watcher();
    bool signalled() const { return signal_number_ != 0; }
    // The first signal received (SIGINT or SIGTERM), 0 if none.
    int signal_number() const { return signal_number_; }

private:
    void close_fds();

    int signal_fd_ = -1;  // SIGINT/SIGTERM, read by thread_
    int stop_fd_ = -1;    // eventfd: the destructor's wake-up
    std::atomic<int> signal_number_{0};
    std::thread thread_;
};

} // namespace hoist::cli
