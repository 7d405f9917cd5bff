#include "cli_transfer.hpp"
#include "cli_units.hpp"

#include "hoist/protocol/s3/part_plan.hpp"

#include <iostream>

namespace hoist::cli {

std::uint64_t parse_size(const std::string& text, const std::string& option) {
    auto bad = [&] {
        return usage_error(option + " '" + text + "' is not a size (examples: 8MiB, 5242880, 100MB)");
    };
    std::size_t pos = 0;
    double number = 0;
    try {
        number = std::stod(text, &pos);
    } catch (const std::exception&) {
        throw bad();
    }
    if (number < 0 || text.find_first_of("eExXnN") < pos) throw bad();
    std::string unit = text.substr(pos);
    static const std::pair<const char*, double> units[] = {
        {"", 1},           {"B", 1},           {"KB", 1e3},           {"MB", 1e6},
        {"GB", 1e9},       {"TB", 1e12},       {"KiB", 1024.0},       {"MiB", 1048576.0},
        {"GiB", 1073741824.0}, {"TiB", 1099511627776.0}};
    for (const auto& [name, factor] : units)
        if (unit == name) {
            double bytes = number * factor;
            if (bytes > 1.8e19) throw bad();
            return static_cast<std::uint64_t>(bytes + 0.5);
        }
    throw bad();
}

void transfer_options::add_to(CLI::App& app) {
    app.add_option("--via", via, "upload through a presign service (hoist serve) at this URL");
    app.add_option("--token", token, "the service's bearer token (default: $HOIST_TOKEN)");
    app.add_option("--part-size", part_size,
                   "part size, at least 5MiB; grown when a file needs more than 10,000 parts. Unless given, "
                   "a file smaller than concurrency x part size is cut into smaller parts (>= 5MiB), one per "
                   "connection")
        ->capture_default_str();
    app.add_option("--concurrency", concurrency,
                   "parts in flight per file (unless given, an upload of two parts under BBR sends one at a time)")
        ->capture_default_str()
        ->check(CLI::Range(1, 1024));
    app.add_option("--retries", retries, "attempts per request, the first included")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app.add_option("--backoff-base", backoff_base, "first retry delay ceiling, seconds (full jitter)")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 60.0));
    app.add_option("--backoff-cap", backoff_cap, "largest retry delay, seconds")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 3600.0));
    app.add_flag("--no-jitter", no_jitter, "fixed doubling retry delays (reproduces simple clients; jitter is better)");
    app.add_option("--max-bandwidth", max_bandwidth,
                   "cap on the bytes per second of the whole command, every connection and file together: "
                   "50MB/s, 50MiB/s, 400Mbit/s, 20M (= 20MB/s); default: no cap");
    app.add_flag("--no-pacing", no_pacing, "let the kernel send each TCP window as a burst (default: paced sends)");
    app.add_option("--checksum", checksum, "per-part integrity: crc32c, md5 or none")
        ->capture_default_str()
        ->check(CLI::IsMember({"crc32c", "md5", "none"}));
    app.add_option("--multipart-threshold", multipart_threshold, "smaller files go up in one PutObject")
        ->capture_default_str();
    app.add_option("--stall-timeout", stall_timeout, "seconds without upload progress before an attempt is abandoned")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    app.add_option("--connect-timeout", connect_timeout, "seconds for TCP connect and TLS handshake")
        ->capture_default_str()
        ->check(CLI::Range(1, 600));
    app.add_option("--read-timeout", read_timeout, "seconds to wait for a response once a request is sent")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    app.add_option("--ca-bundle", ca_bundle,
                   "PEM CA bundle to verify the endpoint (default: AWS_CA_BUNDLE, else the system store)");
    app.add_flag("--no-verify-ssl", no_verify_ssl, "do not verify TLS certificates (insecure)");
    app.add_flag("--keep-on-failure", keep_on_failure, "on failure, keep the multipart upload and print its id");
    app.add_flag("--no-resume", no_resume,
                 "neither continue an interrupted upload of a file to its destination nor record this one "
                 "(default: resume; the journal is under $XDG_STATE_HOME/hoist/uploads)");
    app.add_flag("--quiet", quiet, "no progress output");
    app.add_flag("--json", json, "print JSON on stdout (one object; for many files, one per file and a summary)");
    app.add_option("--content-type", content_type, "Content-Type of the objects")->capture_default_str();
    aws.add_to(app);
}

namespace {

protocol::integrity::kind checksum_kind(const std::string& name) {
    if (name == "md5") return protocol::integrity::kind::md5;
    if (name == "none") return protocol::integrity::kind::none;
    return protocol::integrity::kind::crc32c;
}

} // namespace

engine::upload_options transfer_options::make(const CLI::App& app, const protocol::env_lookup& env,
                                              const protocol::file_reader& files, const std::string& bucket) const {
    engine::upload_options opt;
    if (via) {
        auto bearer = token ? token : env("HOIST_TOKEN");
        if (!bearer || bearer->empty()) throw usage_error("--via needs --token TOKEN (or HOIST_TOKEN)");
        opt.via = engine::via_service{protocol::parse_endpoint(*via), sigv4::secret_string(*bearer), {}};
    }
    opt.part_size = parse_size(part_size, "--part-size");
    // An explicit --part-size is kept exactly (ETag recomputation tools assume it).
    opt.spread_small_files = app.count("--part-size") == 0;
    opt.multipart_threshold = parse_size(multipart_threshold, "--multipart-threshold");
    try {
        protocol::validate_part_size(opt.part_size);
    } catch (const protocol::plan_error& e) {
        throw usage_error(std::string("--part-size: ") + e.what());
    }
    if (backoff_cap < backoff_base) throw usage_error("--backoff-cap must not be below --backoff-base");
    opt.concurrency = concurrency;
    // An explicit --concurrency is what runs, whatever the congestion control.
    opt.fit_parts_in_flight = app.count("--concurrency") == 0;
    opt.max_attempts = retries;
    opt.backoff_base = std::chrono::milliseconds(static_cast<long>(backoff_base * 1000));
    opt.backoff_cap = std::chrono::milliseconds(static_cast<long>(backoff_cap * 1000));
    opt.backoff_jitter = !no_jitter;
    opt.tcp_pacing = !no_pacing;
    opt.checksum = checksum_kind(checksum);
    opt.stall_timeout = std::chrono::seconds(stall_timeout);
    opt.connect_timeout = std::chrono::seconds(connect_timeout);
    opt.response_timeout = std::chrono::seconds(read_timeout);
    opt.keep_on_failure = keep_on_failure;
    // Only named regular files resume (the engine decides that); streams have nothing to continue from.
    opt.resume = !no_resume;
    if (opt.resume) opt.state_dir = engine::default_state_dir(env);
    opt.content_type = content_type;
    bytes_per_second();   // a bad --max-bandwidth is a usage error before anything starts

    if (!via) {
        auto target = resolve(aws, env, files);
        opt.location = protocol::locate(target.endpoint, bucket, "", target.style);
        opt.region = target.region;
        opt.signer = std::make_shared<sigv4::signer>(target.credentials.creds);
    }
    // --ca-bundle wins over AWS_CA_BUNDLE, as in aws-cli.
    opt.tls.ca_file = ca_bundle ? *ca_bundle : env("AWS_CA_BUNDLE").value_or("");
    opt.tls.verify = !no_verify_ssl;
    if (no_verify_ssl)
        std::cerr << "hoist: warning: TLS certificate verification is disabled (--no-verify-ssl); "
                     "the endpoint's identity is not checked\n";
    return opt;
}

engine::upload_options at_key(const engine::upload_options& bucket_options, const std::string& key) {
    engine::upload_options o = bucket_options;
    if (o.via) {
        o.via->file_name = key;
        return o;
    }
    // A bucket's path is "/bucket" (path-style) or "/" (virtual-hosted).
    o.location.path = (o.location.path == "/" ? "/" : o.location.path + "/") + key;
    o.location.key = key;
    return o;
}

std::uint64_t transfer_options::bytes_per_second() const {
    return max_bandwidth ? parse_rate(*max_bandwidth, "--max-bandwidth") : 0;
}

} // namespace hoist::cli
