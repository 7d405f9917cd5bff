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

// SIGINT/SIGTERM end the command and, always, the process. The signals are
// blocked in every thread and read from a signalfd by a thread of this
// object's own, so no async-signal-safety rules apply. The destructor wakes
// that thread through an eventfd (no polling tick: an exit never waits for
// one). Construct it first, before anything can block and before any other
// thread, so every later thread inherits the blocked mask.
//
// What the first signal does depends on what stopping could leave on the
// server, which only the command knows; it says so with set_stage():
//  - local: the engine is not running (options, credentials, the result).
//    Nothing to clean up, and nothing looks at the token: end at once.
//  - starting (cp): the engine was called and has reported nothing yet. It
//    may be blocked before its event loop (open() of a FIFO without a writer,
//    a hung mount), out of the cancel's reach -- and then holds nothing to abort.
//    Cancel; end if the command has not returned `starting_grace` later.
//  - engine: the engine may hold a multipart upload (serve: clients). Cancel
//    and wait for the command, which aborts it; say so after `notice_after`.
// A second signal ends the process at once, saying what may be left. Each of
// these ends is 128 + the signal, as a shell reports an interrupted command.
//
// Why not a grace period alone: an abort may rightly outlast any grace (three
// attempts, each up to --connect-timeout plus --read-timeout), and exiting
// during it leaves the very upload the cancel is there to remove. Why
// `starting` ends on a timer, not on knowing where the main thread waits: the
// engine does not say when its event loop runs; having reported nothing is the
// evidence that it holds nothing to abort (see cli_cp.cpp).
class signal_watcher {
public:
    enum class stage { local, starting, engine };

    // What the watcher says besides "interrupted"; empty: nothing.
    struct messages {
        std::string first;        // on the first signal, when the command is left to stop
        std::string waiting;      // when the engine has not stopped `notice_after` after that
        std::string left_behind;  // with a second signal in the engine stage: what may be left
    };

    explicit signal_watcher(engine::cancel_token token, messages text = {});
    ~signal_watcher();
    void set_stage(stage s) { stage_ = s; }
    // The first signal received (SIGINT or SIGTERM), 0 if none.
    int signal_number() const { return signal_number_; }

private:
    void watch(const engine::cancel_token& token, const messages& text);
    void close_fds();

    int signal_fd_ = -1;  // SIGINT/SIGTERM, read by thread_
    int stop_fd_ = -1;    // eventfd: the destructor's wake-up
    std::atomic<int> signal_number_{0};
    std::atomic<stage> stage_{stage::local};
    std::thread thread_;
};

} // namespace hoist::cli
