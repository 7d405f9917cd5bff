#include "cli_cp.hpp"
#include "progress_display.hpp"

#include "hoist/protocol/s3/part_plan.hpp"

#include <boost/json.hpp>

#include <csignal>
#include <filesystem>
#include <iostream>
#include <thread>

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

void cp_command::add_to(CLI::App& parent) {
    app = parent.add_subcommand("cp", "Upload a file (or - for stdin) to s3://BUCKET/KEY, or through a presign service");
    app->add_option("source", source, "file to upload, or - for standard input")->required();
    app->add_option("destination", destination, "s3://BUCKET/KEY (not with --via: the service chooses the key)");
    app->add_option("--via", via, "upload through a presign service (hoist serve) at this URL");
    app->add_option("--token", token, "the service's bearer token (default: $HOIST_TOKEN)");
    app->add_option("--name", name, "file name given to the service (default: the source file's name)");
    app->add_option("--part-size", part_size,
                    "part size, at least 5MiB; grown when a file needs more than 10,000 parts. Unless given, "
                    "a file smaller than concurrency x part size is cut into smaller parts (>= 5MiB), one per "
                    "connection")
        ->capture_default_str();
    app->add_option("--concurrency", concurrency, "parts in flight (unless given, an upload of two parts under BBR sends one at a time)")->capture_default_str()->check(CLI::Range(1, 1024));
    app->add_option("--retries", retries, "attempts per request, the first included")
        ->capture_default_str()
        ->check(CLI::Range(1, 100));
    app->add_option("--backoff-base", backoff_base, "first retry delay ceiling, seconds (full jitter)")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 60.0));
    app->add_option("--backoff-cap", backoff_cap, "largest retry delay, seconds")
        ->capture_default_str()
        ->check(CLI::Range(0.001, 3600.0));
    app->add_flag("--no-jitter", no_jitter, "fixed doubling retry delays (reproduces simple clients; jitter is better)");
    app->add_flag("--no-pacing", no_pacing, "let the kernel send each TCP window as a burst (default: paced sends)");
    app->add_option("--checksum", checksum, "per-part integrity: crc32c, md5 or none")
        ->capture_default_str()
        ->check(CLI::IsMember({"crc32c", "md5", "none"}));
    app->add_option("--multipart-threshold", multipart_threshold, "smaller files go up in one PutObject")
        ->capture_default_str();
    app->add_option("--stall-timeout", stall_timeout, "seconds without upload progress before an attempt is abandoned")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    app->add_option("--connect-timeout", connect_timeout, "seconds for TCP connect and TLS handshake")
        ->capture_default_str()
        ->check(CLI::Range(1, 600));
    app->add_option("--read-timeout", read_timeout, "seconds to wait for a response once a request is sent")
        ->capture_default_str()
        ->check(CLI::Range(1, 3600));
    app->add_option("--ca-bundle", ca_bundle, "PEM CA bundle to verify the endpoint (default: AWS_CA_BUNDLE, else the system store)");
    app->add_flag("--no-verify-ssl", no_verify_ssl, "do not verify TLS certificates (insecure)");
    app->add_flag("--keep-on-failure", keep_on_failure, "on failure, keep the multipart upload and print its id");
    app->add_flag("--quiet", quiet, "no progress output");
    app->add_flag("--json", json, "print a JSON summary on stdout");
    app->add_option("--content-type", content_type, "Content-Type of the object")->capture_default_str();
    aws.add_to(*app);
}

namespace {

protocol::integrity::kind checksum_kind(const std::string& name) {
    if (name == "md5") return protocol::integrity::kind::md5;
    if (name == "none") return protocol::integrity::kind::none;
    return protocol::integrity::kind::crc32c;
}

} // namespace

int cp_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    // First: reading credentials (a FIFO, a hung mount) can block too.
    engine::cancel_token cancel;
    signal_watcher signals(cancel, {.first = {},
                                    .waiting = "hoist: stopping: aborting the multipart upload, if one was started; "
                                               "interrupt again to exit now",
                                    .left_behind = "a multipart upload may be left on the server "
                                                   "(aws s3api list-multipart-uploads lists it)"});
    engine::upload_options opt;
    protocol::s3_url dest;
    if (via) {
        if (!destination.empty()) throw usage_error("--via uploads where the service says: drop " + destination);
        auto bearer = token ? token : env("HOIST_TOKEN");
        if (!bearer || bearer->empty()) throw usage_error("--via needs --token TOKEN (or HOIST_TOKEN)");
        std::string file_name = name.value_or(source == "-" ? std::string("stdin") : std::filesystem::path(source).filename().string());
        opt.via = engine::via_service{protocol::parse_endpoint(*via), sigv4::secret_string(*bearer), file_name};
    } else {
        if (destination.empty()) throw usage_error("the destination s3://BUCKET/KEY is missing (or use --via)");
        dest = protocol::parse_s3_url(destination);
    }
    opt.part_size = parse_size(part_size, "--part-size");
    // An explicit --part-size is kept exactly (ETag recomputation tools assume it).
    opt.spread_small_files = app->count("--part-size") == 0;
    opt.multipart_threshold = parse_size(multipart_threshold, "--multipart-threshold");
    try {
        protocol::validate_part_size(opt.part_size);
    } catch (const protocol::plan_error& e) {
        throw usage_error(std::string("--part-size: ") + e.what());
    }
    if (backoff_cap < backoff_base) throw usage_error("--backoff-cap must not be below --backoff-base");
    opt.concurrency = concurrency;
    // An explicit --concurrency is what runs, whatever the congestion control.
    opt.fit_parts_in_flight = app->count("--concurrency") == 0;
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
    opt.content_type = content_type;

    if (!via) {
        auto target = resolve(aws, env, files);
        opt.location = protocol::locate(target.endpoint, dest.bucket, dest.key, target.style);
        opt.region = target.region;
        opt.signer = std::make_shared<sigv4::signer>(target.credentials.creds);
    }
    // --ca-bundle wins over AWS_CA_BUNDLE, as in aws-cli.
    opt.tls.ca_file = ca_bundle ? *ca_bundle : env("AWS_CA_BUNDLE").value_or("");
    opt.tls.verify = !no_verify_ssl;
    if (no_verify_ssl)
        std::cerr << "hoist: warning: TLS certificate verification is disabled (--no-verify-ssl); "
                     "the endpoint's identity is not checked\n";

    progress_display display(quiet ? progress_display::mode::off : progress_display::mode::automatic);
    // The engine runs from here on. Until its first progress report it holds no
    // multipart upload to abort: upload_file reports a file's upload in the
    // step that creates it, before a cancel can be handled (an engine rewrite
    // must keep that, or say "created" explicitly). Before its event loop it
    // may block where the cancel cannot reach (open() of a FIFO waits for a
    // writer): the watcher then ends hoist. Standard input ("-") is read inside
    // the loop, and a stream can create its upload before its first report, so
    // there the watcher waits for the engine from the start.
    signals.set_stage(source == "-" ? signal_watcher::stage::engine : signal_watcher::stage::starting);
    auto on_progress = [&](const engine::progress& p) {
        signals.set_stage(signal_watcher::stage::engine);
        display.update(p);
    };
    engine::upload_result r;
    try {
        r = engine::upload_file(source, opt, on_progress, cancel);
    } catch (const engine::upload_error& e) {
        signals.set_stage(signal_watcher::stage::local);
        display.finish();
        bool usage = e.code() == engine::upload_errc::invalid_argument || e.code() == engine::upload_errc::source_error;
        std::cerr << "hoist: error: " << e.what() << '\n';
        if (json) {
            boost::json::object o{{"error", e.what()},
                                   {"code", std::string(engine::to_string(e.code()))},
                                   {"upload_id", e.upload_id()},
                                   {"aborted", e.aborted()}};
            std::cout << boost::json::serialize(o) << '\n';
        }
        // Interrupted: the shell's convention, 128 + the signal (130 for Ctrl-C).
        if (e.code() == engine::upload_errc::cancelled && signals.signal_number() > 0)
            return 128 + signals.signal_number();
        return usage ? exit_usage : exit_failed;
    }
    signals.set_stage(signal_watcher::stage::local);
    display.finish(r);
    if (!r.fallback_reason.empty() && !quiet)
        std::cerr << "hoist: warning: presigned PUTs failed (" << r.fallback_reason
                  << "); the parts went through the service instead\n";
    if (json) {
        boost::json::object o{{"bytes", r.bytes},
                              {"seconds", r.seconds},
                              {"mb_per_s", r.seconds > 0 ? static_cast<double>(r.bytes) / 1e6 / r.seconds : 0.0},
                              {"parts", r.parts},
                              {"retries", r.retries},
                              {"connections_opened", r.connections_opened},
                              {"connections_reused", r.connections_reused},
                              {"tls_resumed", r.tls_resumed},
                              {"method", r.method},
                              {"etag", r.etag},
                              {"upload_id", r.upload_id},
                              {"checksum", r.checksum},
                              {"part_size", r.part_size},
                              {"concurrency", opt.concurrency},
                              {"parts_in_flight", r.parts_in_flight},
                              {"congestion_control", r.congestion_control},
                              {"bucket", dest.bucket},
                              {"key", r.key}};
        if (!r.fallback_reason.empty()) o["fallback_reason"] = r.fallback_reason;
        std::cout << boost::json::serialize(o) << '\n';
    }
    return exit_ok;
}

} // namespace hoist::cli
