#include "cli_common.hpp"

#include <csignal>
#include <iostream>

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
    thread_ = std::thread([this, set, token, message] {
        timespec tick{0, 100'000'000};
        while (!done_) {
            if (int sig = sigtimedwait(&set, nullptr, &tick); sig > 0) {
                if (!message.empty()) std::cerr << message << std::endl;
                // Recorded before the cancel: the main thread reads it as soon as
                // the cancelled upload returns (exit 128 + signal).
                int none = 0;
                signal_number_.compare_exchange_strong(none, sig);
                token.cancel();
            }
        }
    });
}

signal_watcher::~signal_watcher() {
    done_ = true;
    thread_.join();
}

} // namespace hoist::cli
