#pragma once

#include "cli_common.hpp"

namespace hoist::cli {

struct presign_command {
    CLI::App* app = nullptr;
    std::string url;
    std::optional<std::string> method;
    long long expires = 3600;
    std::optional<std::string> date;
    std::optional<std::string> upload_id;
    std::optional<long long> part_number;
    // --post: a browser form upload (POST policy) instead of a URL.
    bool post = false;
    std::optional<std::string> content_length_range;   // "MIN,MAX"
    std::vector<std::string> post_fields;               // "NAME=VALUE"
    std::vector<std::string> starts_with;               // "NAME=PREFIX"
    aws_options aws;

    void add_to(CLI::App& parent);
    // Prints the URL (or, with --post, one JSON line {url, fields}). Throws usage_error, config_error, address_error,
    // sigv4_error for bad input.
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;

private:
    int run_post(const protocol::env_lookup& env, const protocol::file_reader& files) const;
};

} // namespace hoist::cli
