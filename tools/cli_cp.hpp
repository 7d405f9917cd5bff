#pragma once

#include "cli_common.hpp"

#include "hoist/engine/upload.hpp"

namespace hoist::cli {

// `hoist cp SOURCE s3://BUCKET/KEY`: one upload with a progress display and an
// optional JSON summary.
struct cp_command {
    CLI::App* app = nullptr;
    std::string source;
    std::string destination;
    std::string part_size = "8MiB";
    unsigned concurrency = 8;
    unsigned retries = 5;
    double backoff_base = 0.2;
    double backoff_cap = 20;
    bool no_jitter = false;
    bool no_pacing = false;
    std::string checksum = "crc32c";
    std::string multipart_threshold = "8MiB";
    unsigned stall_timeout = 30;
    unsigned connect_timeout = 10;
    unsigned read_timeout = 60;
    std::optional<std::string> ca_bundle;
    bool no_verify_ssl = false;
    bool keep_on_failure = false;
    bool quiet = false;
    bool json = false;
    std::string content_type = "application/octet-stream";
    std::optional<std::string> via;        // presign service URL
    std::optional<std::string> token;      // its bearer token (else HOIST_TOKEN)
    std::optional<std::string> name;       // file name sent to the service (default: the source's)
    aws_options aws;

    void add_to(CLI::App& parent);
    int run(const protocol::env_lookup& env, const protocol::file_reader& files) const;
};

// "8MiB", "5MB", "1048576", "1.5GiB": SI units are decimal (MB = 10^6), IEC
// units binary (MiB = 2^20). Throws usage_error.
std::uint64_t parse_size(const std::string& text, const std::string& option);

} // namespace hoist::cli
