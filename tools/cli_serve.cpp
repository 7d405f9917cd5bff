#include "cli_serve.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/serve/service.hpp"

#include <csignal>
#include <iostream>
#include <thread>

namespace hoist::cli {

void serve_command::add_to(CLI::App& parent) {
    app = parent.add_subcommand("serve", "Run the presign service (see README: routes, config file)");
    app->add_option("--config", config_path, "the service's JSON config file")->required();
    app->add_option("--listen", listen, "HOST:PORT to listen on (overrides the config's \"listen\")");
    app->add_option("--api-path", api_path,
                    "path of the JSON API (overrides the config's \"api_path\"; default /v1/presigned-upload)");
    app->add_option("--profile", profile, "AWS profile for the storage credentials when the config names none");
    app->add_option("--endpoint-url", endpoint_url, "storage endpoint (overrides storage.endpoint)");
    app->add_option("--region", region, "storage region (overrides storage.region)");
    app->add_option("--bucket", bucket, "storage bucket (overrides storage.bucket)");
    app->add_option("--ca-bundle", ca_bundle, "CA bundle for the storage endpoint (overrides storage.ca_bundle)");
    auto* ps = app->add_flag("--path-style", path_style, "path-style storage addressing");
    auto* vh = app->add_flag("--virtual-host", virtual_host, "virtual-hosted storage addressing");
    ps->excludes(vh);
    app->add_flag("--log-probes", log_probes,
                  "also log GET /healthz and GET /metrics (counted in /metrics either way)");
}

namespace {

protocol::listen_address parse_listen(const std::string& text) {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) throw usage_error("--listen '" + text + "': expected HOST:PORT");
    std::string host = text.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
    unsigned port = 0;
    try {
        std::size_t used = 0;
        port = static_cast<unsigned>(std::stoul(text.substr(colon + 1), &used));
        if (used != text.size() - colon - 1 || port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
        throw usage_error("--listen '" + text + "': the port must be 0 to 65535");
    }
    return {host, static_cast<std::uint16_t>(port)};
}

} // namespace

int serve_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    // First: reading the config or credentials (a FIFO, a hung mount) can block too.
    engine::cancel_token cancel;
    signal_watcher signals(cancel, {.first = "hoist serve: stopping",
                                    .waiting = "hoist serve: still stopping; interrupt again to exit now",
                                    .left_behind = {}});
    // Everything is checked here, before listening: a bad config fails at start.
    auto text = files(config_path);
    if (!text) throw usage_error("the config file '" + config_path + "' does not exist");
    engine::service_options opt;
    opt.config = protocol::parse_service_config(*text);
    if (listen) opt.config.listen = parse_listen(*listen);
    if (api_path) {
        if (auto why = protocol::api_path_error(*api_path)) throw usage_error("--api-path '" + *api_path + "': " + *why);
        opt.config.api_path = *api_path;
    }
    auto& storage = opt.config.storage;
    if (region) storage.region = *region;
    if (endpoint_url) storage.ep = protocol::parse_endpoint(*endpoint_url);
    else if (region && storage.ep.is_aws) storage.ep = protocol::aws_endpoint(*region);
    if (bucket) {
        protocol::validate_bucket_name(*bucket);
        storage.bucket = *bucket;
    }
    if (ca_bundle) storage.ca_bundle = *ca_bundle;
    if (path_style) storage.style = protocol::addressing::path;
    if (virtual_host) storage.style = protocol::addressing::virtual_host;
    opt.log_probes = log_probes;
    if (auto creds = protocol::configured_credentials(opt.config.storage))
        opt.storage_credentials = *creds;
    else
        opt.storage_credentials =
            protocol::resolve_credentials({profile, opt.config.storage.region}, env, files).creds;
    sigv4::signer check(opt.storage_credentials);  // empty key or secret: a clear error now
    (void)check;
    opt.on_listening = [&](std::uint16_t port) {
        std::cerr << "hoist serve: listening on " << (opt.config.tls ? "https" : "http") << "://"
                  << (opt.config.listen.host.find(':') != std::string::npos ? "[" + opt.config.listen.host + "]"
                                                                              : opt.config.listen.host)
                  << ":" << port << std::endl;
    };

    // The cancel stops the service; a second signal cuts that short.
    signals.set_stage(signal_watcher::stage::engine);
    try {
        engine::run_service(opt, cancel);
    } catch (const std::runtime_error& e) {
        throw usage_error(e.what());
    }
    return exit_ok;
}

} // namespace hoist::cli
