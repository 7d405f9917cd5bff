#pragma once

#include "cli_common.hpp"

#include <chrono>
#include <optional>
#include <string>

namespace hoist::cli {

// `hoist uploads ls|abort s3://BUCKET[/PREFIX]`: the bucket's in-progress
// multipart uploads (ListMultipartUploads), listed with their parts and bytes,
// or aborted (all under the prefix, or those older than --older-than).
struct uploads_command {
    CLI::App* app = nullptr;
    CLI::App* ls_app = nullptr;
    CLI::App* abort_app = nullptr;
    std::string url;
    bool json = false;
    std::optional<std::string> older_than;
    bool dry_run = false;
    std::optional<std::string> ca_bundle;
    bool no_verify_ssl = false;
    aws_options aws;

    void add_to(CLI::App& parent);
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;
};

// "90s", "30m", "24h", "7d": a whole number and one unit. Throws usage_error
// naming `option`.
std::chrono::seconds parse_age(const std::string& text, const std::string& option);

} // namespace hoist::cli
