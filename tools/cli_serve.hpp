#pragma once

#include "cli_common.hpp"

namespace hoist::cli {

// `hoist serve --config FILE [--listen HOST:PORT]`: the presign service.
struct serve_command {
    CLI::App* app = nullptr;
    std::string config_path;
    std::optional<std::string> listen;
    std::optional<std::string> api_path;   // overrides the config's "api_path"
    std::optional<std::string> profile;
    // Storage overrides, as in cp: they win over the config file's "storage".
    std::optional<std::string> endpoint_url, region, bucket, ca_bundle;
    bool path_style = false, virtual_host = false;
    bool log_probes = false;   // also log GET /healthz and GET /metrics

    void add_to(CLI::App& parent);
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;
};

} // namespace hoist::cli
