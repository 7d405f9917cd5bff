#include "cli_common.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <string>
#include <system_error>

namespace hoist::cli {

void aws_options::add_to(CLI::App& app) {
    app.add_option("--profile", profile, "AWS profile from ~/.aws/credentials and ~/.aws/config");
    app.add_option("--region", region, "AWS region (default: AWS_REGION, AWS_DEFAULT_REGION, the profile, us-east-1)");
    app.add_option("--endpoint-url", endpoint_url, "S3-compatible endpoint, e.g. https://127.0.0.1:9000");
    auto* ps = app.add_flag("--path-style", path_style, "address buckets as https://HOST/BUCKET/KEY");
    auto* vh = app.add_flag("--virtual-host", virtual_host, "address buckets as https://BUCKET.HOST/KEY");
    ps->excludes(vh);
}

aws_target resolve(const aws_options& opts, const protocol::env_lookup& env, const protocol::file_reader& files) {
    protocol::aws_settings settings{opts.profile, opts.region};
    aws_target t;
    t.credentials = protocol::resolve_credentials(settings, env, files);
    t.region = protocol::resolve_region(settings, env, files);

    std::optional<std::string> url = opts.endpoint_url;
    if (!url) url = env("AWS_ENDPOINT_URL_S3");
    if (!url) url = env("AWS_ENDPOINT_URL");
    t.endpoint = url ? protocol::parse_endpoint(*url) : protocol::aws_endpoint(t.region);

    if (opts.path_style) t.style = protocol::addressing::path;
    if (opts.virtual_host) t.style = protocol::addressing::virtual_host;
    return t;
}

namespace {

using clock = std::chrono::steady_clock;

// How long `starting` leaves the command to return by itself after the
// cancel: an engine whose event loop runs returns within milliseconds (the
// cancel cuts its requests), with its own message and --json output; half a
// second still feels immediate after a Ctrl-C.
constexpr auto starting_grace = std::chrono::milliseconds(500);
// When a stop that waits for the engine says why: a healthy abort takes a
// round trip or two, so only a slow one gets the note.
constexpr auto notice_after = std::chrono::seconds(2);

std::string signal_name(int sig) {
    if (sig == SIGINT) return "SIGINT";
    if (sig == SIGTERM) return "SIGTERM";
    return "signal " + std::to_string(sig);
}

// One line on stderr in one write(): the main thread may be writing too, or
// be blocked anywhere, holding any lock (std::cerr's included).
void say(const std::string& line) {
    // On a terminal the "^C" (or a progress bar) ends the current row.
    std::string text = (::isatty(STDERR_FILENO) == 1 ? "\n" : "") + line + "\n";
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, text.data(), text.size());
}

// Ends the process from the watcher's thread. _exit: the main thread may be
// blocked anywhere, so no destructor or atexit handler may wait for it;
// buffered stdout is lost, as with any interrupted command.
[[noreturn]] void end_now(int sig, const std::string& line) {
    say(line);
    ::_exit(128 + sig);
}

} // namespace

signal_watcher::signal_watcher(engine::cancel_token token, messages text) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
    signal_fd_ = ::signalfd(-1, &set, SFD_CLOEXEC);
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (signal_fd_ < 0 || stop_fd_ < 0) {
        int err = errno;
        close_fds();
        throw std::system_error(err, std::generic_category(), "hoist: cannot watch SIGINT/SIGTERM");
    }
    thread_ = std::thread([this, token = std::move(token), text = std::move(text)] { watch(token, text); });
}

void signal_watcher::watch(const engine::cancel_token& token, const messages& text) {
    pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
    int first = 0;  // the first signal, once one came
    clock::time_point first_at;
    bool noticed = false;
    for (;;) {
        // Sleeps until a signal or the destructor, and after a first signal
        // until the next decision: no polling tick.
        int timeout = -1;
        if (first != 0 && !noticed) {
            auto wait = stage_ == stage::engine ? std::chrono::milliseconds(notice_after) : starting_grace;
            auto wake = first_at + wait;
            auto left = std::chrono::ceil<std::chrono::milliseconds>(wake - clock::now()).count();
            timeout = static_cast<int>(std::max<decltype(left)>(left, 0));
        }
        int ready = ::poll(fds, 2, timeout);
        if (ready < 0) {
            if (errno == EINTR) continue;
            return;
        }
        if (fds[1].revents != 0) return;
        if (ready == 0) {
            // The command has not returned since the first signal.
            switch (stage_.load()) {
            case stage::local:
                end_now(first, "hoist: interrupted (" + signal_name(first) + ")");
            case stage::starting:
                end_now(first,
                        "hoist: interrupted (" + signal_name(first) + ") before the upload started; nothing to abort");
            case stage::engine:
                if (clock::now() - first_at >= notice_after) {
                    say(text.waiting.empty() ? "hoist: stopping; interrupt again to exit now" : text.waiting);
                    noticed = true;
                }
                continue;
            }
            continue;
        }
        signalfd_siginfo info{};
        if (::read(signal_fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
        int sig = static_cast<int>(info.ssi_signo);
        if (first != 0) {
            std::string line = "hoist: interrupted again (" + signal_name(sig) + "); exiting now";
            if (stage_ == stage::engine && !text.left_behind.empty()) line += "; " + text.left_behind;
            end_now(sig, line);
        }
        first = sig;
        first_at = clock::now();
        // Recorded before the cancel: the main thread reads it as soon as the
        // cancelled command returns (exit 128 + signal).
        signal_number_ = sig;
        if (stage_ == stage::local) end_now(sig, "hoist: interrupted (" + signal_name(sig) + ")");
        if (!text.first.empty()) say(text.first);
        token.cancel();
    }
}

signal_watcher::~signal_watcher() {
    std::uint64_t one = 1;
    [[maybe_unused]] auto n = ::write(stop_fd_, &one, sizeof one);
    thread_.join();
    close_fds();
}

void signal_watcher::close_fds() {
    if (signal_fd_ >= 0) ::close(signal_fd_);
    if (stop_fd_ >= 0) ::close(stop_fd_);
    signal_fd_ = stop_fd_ = -1;
}

} // namespace hoist::cli
