#include "cli_common.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdint>
#include <iostream>
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

signal_watcher::signal_watcher(engine::cancel_token token, std::string message) {
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
    thread_ = std::thread([this, token, message] {
        pollfd fds[2] = {{signal_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        for (;;) {
            // Sleeps until a signal or the destructor: no polling tick, so the
            // destructor's join (at every exit) returns at once.
            if (::poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                return;
            }
            if (fds[1].revents != 0) return;
            signalfd_siginfo info{};
            if (::read(signal_fd_, &info, sizeof info) != static_cast<ssize_t>(sizeof info)) continue;
            if (!message.empty()) std::cerr << message << std::endl;
            // Recorded before the cancel: the main thread reads it as soon as
            // the cancelled upload returns (exit 128 + signal).
            int none = 0;
            signal_number_.compare_exchange_strong(none, static_cast<int>(info.ssi_signo));
            token.cancel();
        }
    });
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
