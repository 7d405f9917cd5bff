// The options every uploading command shares (`cp`, `sync`): how to reach the
// storage (or a presign service) and how to send, turned into the engine's
// upload_options once per command.
#pragma once

#include "cli_common.hpp"

#include "hoist/engine/client.hpp"

namespace hoist::cli {

struct transfer_options {
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
    bool no_resume = false;
    bool quiet = false;
    bool json = false;
    std::string content_type = "application/octet-stream";
    std::optional<std::string> via;        // presign service URL
    std::optional<std::string> token;      // its bearer token (else HOIST_TOKEN)
    std::optional<std::string> max_bandwidth;   // --max-bandwidth RATE (cli_units.hpp's parse_rate)
    aws_options aws;

    void add_to(CLI::App& app);

    // --max-bandwidth in bytes per second, 0 without it: the cap of the whole
    // command, so the caller puts it on the client (every file together; one
    // file: upload_options::max_bytes_per_second), never on each upload of
    // many. make() checks it. Throws usage_error.
    std::uint64_t bytes_per_second() const;

    // The options of every upload of the command. With `via`, the location is
    // left empty (the service chooses keys); otherwise it is the bucket's
    // (locate(..., bucket, "", style)) and the caller sets each key with
    // at_key(). Throws usage_error, config errors.
    engine::upload_options make(const CLI::App& app, const protocol::env_lookup& env,
                                const protocol::file_reader& files, const std::string& bucket) const;
};

// The location of `key` in the bucket of `bucket_options` (made by make()).
engine::upload_options at_key(const engine::upload_options& bucket_options, const std::string& key);

// "8MiB", "5MB", "1048576", "1.5GiB": SI units are decimal (MB = 10^6), IEC
// units binary (MiB = 2^20). Throws usage_error.
std::uint64_t parse_size(const std::string& text, const std::string& option);

} // namespace hoist::cli
