#pragma once

#include "cli_common.hpp"

namespace hoist::cli {

// `hoist serve --config FILE [--listen HOST:PORT]`: the presign service.
struct serve_command {
    CLI::App* app = nullptr;
    std::string config_path;
    std::optional<std::string> listen;
    std::optional<std::string> profile;

    void add_to(CLI::App& parent);
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;
};

} // namespace hoist::cli
