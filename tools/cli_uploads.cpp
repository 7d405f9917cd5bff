#include "cli_uploads.hpp"
#include "json_text.hpp"

#include "hoist/engine/bucket.hpp"
#include "hoist/engine/client.hpp"
#include "hoist/protocol/presign/wire.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <iostream>

namespace hoist::cli {

std::chrono::seconds parse_age(const std::string& text, const std::string& option) {
    auto bad = [&] {
        return usage_error(option + " '" + text + "' is not a duration (a whole number and a unit: 90s, 30m, 24h, 7d)");
    };
    if (text.size() < 2) throw bad();
    std::uint64_t number = 0;
    const char* end = text.data() + text.size() - 1;
    auto [stop, ec] = std::from_chars(text.data(), end, number);
    if (ec != std::errc{} || stop != end) throw bad();
    std::uint64_t unit = 0;
    switch (text.back()) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    default: throw bad();
    }
    // Beyond a century is a typo, and would overflow the arithmetic below.
    if (number > 36500ull * 86400 / unit) throw bad();
    return std::chrono::seconds(static_cast<std::int64_t>(number * unit));
}

void uploads_command::add_to(CLI::App& parent) {
    app = parent.add_subcommand("uploads", "In-progress multipart uploads of a bucket: list them, abort them");
    app->require_subcommand(1);
    ls_app = app->add_subcommand("ls", "List the in-progress multipart uploads under s3://BUCKET[/PREFIX]");
    abort_app = app->add_subcommand("abort", "Abort the in-progress multipart uploads under s3://BUCKET[/PREFIX]");
    for (CLI::App* sub : {ls_app, abort_app}) {
        sub->add_option("url", url, "s3://BUCKET or s3://BUCKET/PREFIX (a key prefix, not only a folder)")->required();
        sub->add_flag("--json", json, "one JSON object per upload on stdout");
        sub->add_option("--ca-bundle", ca_bundle,
                        "PEM CA bundle to verify the endpoint (default: AWS_CA_BUNDLE, else the system store)");
        sub->add_flag("--no-verify-ssl", no_verify_ssl, "do not verify TLS certificates (insecure)");
        aws.add_to(*sub);
    }
    abort_app->add_option("--older-than", older_than,
                      "only uploads initiated longer ago than this (90s, 30m, 24h, 7d)");
    abort_app->add_flag("--dry-run", dry_run, "say what would be aborted, abort nothing");
}

namespace {

// A key for a terminal line: control characters and backslashes escaped (the
// JSON output carries the key exactly).
std::string printable(const std::string& key) {
    std::string out;
    for (unsigned char c : key) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c < 0x20 || c == 0x7f) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\x%02x", c);
            out += buffer;
        } else {
            out += static_cast<char>(c);
        }
    }
    return out;
}

std::string plural(std::size_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

} // namespace

int uploads_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    const bool aborting = abort_app->parsed();
    protocol::s3_url where;
    try {
        where = protocol::parse_s3_url(url, false);
    } catch (const protocol::address_error& e) {
        throw usage_error(std::string(e.what()) + " (uploads takes s3://BUCKET[/PREFIX])");
    }
    std::optional<std::chrono::seconds> age;
    if (aborting && older_than) age = parse_age(*older_than, "--older-than");

    auto target = resolve(aws, env, files);
    engine::upload_options bucket;
    bucket.location = protocol::locate(target.endpoint, where.bucket, "", target.style);
    bucket.region = target.region;
    bucket.signer = std::make_shared<sigv4::signer>(target.credentials.creds);
    // --ca-bundle wins over AWS_CA_BUNDLE, as in aws-cli (and hoist cp).
    bucket.tls.ca_file = ca_bundle ? *ca_bundle : env("AWS_CA_BUNDLE").value_or("");
    bucket.tls.verify = !no_verify_ssl;
    if (no_verify_ssl)
        std::cerr << "hoist: warning: TLS certificate verification is disabled (--no-verify-ssl); "
                     "the endpoint's identity is not checked\n";

    engine::client client;
    std::vector<engine::multipart_upload> uploads;
    try {
        // Parts and bytes cost one ListParts per upload: only ls shows them.
        uploads = engine::list_multipart_uploads(client, bucket, where.key, {.count_parts = !aborting});
    } catch (const engine::upload_error& e) {
        std::cerr << "hoist: error: " << e.what() << '\n';
        return exit_failed;
    }

    if (!aborting) {
        for (const auto& u : uploads) {
            if (json) {
                boost::json::object o{{"key", u.key},
                                      {"upload_id", u.upload_id},
                                      {"initiated", u.initiated},
                                      {"parts", u.parts.value_or(0)},
                                      {"bytes", u.bytes.value_or(0)}};
                std::cout << to_json_text(o) << '\n';
            } else {
                std::cout << printable(u.key) << '\t' << u.upload_id << '\t' << u.initiated << '\t'
                          << u.parts.value_or(0) << '\t' << u.bytes.value_or(0) << '\n';
            }
        }
        if (!json) std::cout << plural(uploads.size(), "upload", "uploads") << " in progress\n";
        return exit_ok;
    }

    const auto now = std::chrono::system_clock::now();
    std::size_t done = 0, failed = 0, newer = 0, undated = 0;
    for (const auto& u : uploads) {
        if (age) {
            // S3's Initiated is the ISO 8601 UTC form the presign wire's expiresAt
            // uses: one tested parser for both.
            auto initiated = protocol::parse_expires_at(u.initiated);
            if (!initiated) {
                // Never abort what cannot be dated against --older-than.
                std::cerr << "hoist: warning: skipping " << printable(u.key) << ' ' << u.upload_id
                          << ": its Initiated time '" << u.initiated << "' is not ISO 8601\n";
                ++undated;
                continue;
            }
            if (now - std::chrono::system_clock::time_point(std::chrono::seconds(*initiated)) <= *age) {
                ++newer;
                continue;
            }
        }
        std::string error;
        if (!dry_run) {
            try {
                auto object = bucket;
                object.location = protocol::locate(target.endpoint, where.bucket, u.key, target.style);
                engine::abort_multipart_upload(client, object, u.upload_id);
            } catch (const engine::upload_error& e) {
                error = e.what();
            }
        }
        const char* result = !error.empty() ? "failed" : dry_run ? "would abort" : "aborted";
        if (error.empty()) ++done;
        else ++failed;
        if (json) {
            boost::json::object o{{"key", u.key}, {"upload_id", u.upload_id}, {"initiated", u.initiated},
                                  {"result", result}};
            if (!error.empty()) o["error"] = error;
            std::cout << to_json_text(o) << '\n';
        } else if (error.empty()) {
            std::cout << result << '\t' << printable(u.key) << '\t' << u.upload_id << '\t' << u.initiated << '\n';
        }
        if (!error.empty())
            std::cerr << "hoist: error: could not abort " << printable(u.key) << ' ' << u.upload_id << ": " << error
                      << '\n';
    }
    if (!json) {
        std::cout << (dry_run ? "would abort " : "aborted ") << plural(done, "upload", "uploads");
        if (failed) std::cout << ", " << failed << " failed";
        if (newer) std::cout << ", " << newer << " newer than " << *older_than << " kept";
        if (undated) std::cout << ", " << undated << " undated kept";
        std::cout << '\n';
    }
    return failed ? exit_failed : exit_ok;
}

} // namespace hoist::cli
