// `hoist presign`: prints one presigned URL and nothing else on stdout; with
// --post, one JSON line {"url": ..., "fields": {...}} for a browser form upload.
#include "cli_presign.hpp"
#include "json_text.hpp"

#include "hoist/protocol/s3/requests.hpp"

#include <boost/json.hpp>

#include <charconv>
#include <iostream>

namespace hoist::cli {

void presign_command::add_to(CLI::App& parent) {
    app = parent.add_subcommand("presign", "Print a presigned URL for an object (or one part of a multipart upload)");
    app->add_option("url", url, "s3://BUCKET/KEY (the key is taken literally)")->required();
    app->add_option("--method", method, "GET or PUT")->check(CLI::IsMember({"GET", "PUT"}));
    app->add_option("--expires", expires, "lifetime in seconds, 1 to 604800 (default 3600)");
    app->add_option("--date", date, "signing time YYYYMMDDTHHMMSSZ (default: now), for reproducible URLs");
    auto* id = app->add_option("--upload-id", upload_id, "presign UploadPart of this multipart upload");
    auto* part = app->add_option("--part-number", part_number, "part number 1..10000, with --upload-id");
    id->needs(part);
    part->needs(id);
    app->add_flag("--post", post,
                  "print a signed POST policy form instead of a URL: JSON {url, fields}; a key ending in "
                  "${filename} lets the browser's file name complete it");
    app->add_option("--content-length-range", content_length_range,
                    "with --post: allowed file size MIN,MAX in bytes (the policy's first condition)");
    app->add_option("--field", post_fields,
                    "with --post: NAME=VALUE, a form field the policy requires exactly (Content-Type, "
                    "success_action_status, x-amz-meta-*); repeatable");
    app->add_option("--starts-with", starts_with,
                    "with --post: NAME=PREFIX, the form field NAME must start with PREFIX (empty: any value); "
                    "repeatable, after --content-length-range in the policy");
    aws.add_to(*app);
}

namespace {

std::pair<std::string, std::string> name_value(const std::string& text, const char* option) {
    auto eq = text.find('=');
    if (eq == std::string::npos || eq == 0)
        throw usage_error(std::string(option) + " takes NAME=VALUE, got '" + text + "'");
    return {text.substr(0, eq), text.substr(eq + 1)};
}

std::uint64_t byte_count(std::string_view text, const std::string& whole) {
    std::uint64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size())
        throw usage_error("--content-length-range takes MIN,MAX in bytes (digits only), got '" + whole + "'");
    return v;
}

} // namespace

int presign_command::run_post(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    if (method || upload_id || part_number)
        throw usage_error("--post makes a form upload: drop --method, --upload-id and --part-number");
    auto s3 = protocol::parse_s3_url(url);
    sigv4::post_policy policy;
    policy.bucket = s3.bucket;
    policy.key = s3.key;
    policy.expires = std::chrono::seconds(expires);
    if (content_length_range) {
        const std::string& r = *content_length_range;
        auto comma = r.find(',');
        if (comma == std::string::npos)
            throw usage_error("--content-length-range takes MIN,MAX in bytes, got '" + r + "'");
        auto min = byte_count(std::string_view(r).substr(0, comma), r);
        auto max = byte_count(std::string_view(r).substr(comma + 1), r);
        if (min > max) throw usage_error("--content-length-range MIN is larger than MAX: '" + r + "'");
        policy.conditions.push_back(sigv4::post_condition::content_length_range(min, max));
    }
    for (const auto& s : starts_with) {
        auto [name, prefix] = name_value(s, "--starts-with");
        policy.conditions.push_back(sigv4::post_condition::starts_with(name, prefix));
    }
    for (const auto& f : post_fields) policy.fields.push_back(name_value(f, "--field"));

    auto signing_date = date ? sigv4::amz_date::parse(*date) : sigv4::amz_date::from(std::chrono::system_clock::now());
    auto target = resolve(aws, env, files);
    sigv4::signer signer(target.credentials.creds);
    auto post_form = protocol::presign_post(target.endpoint, target.style, policy, signer, target.region, signing_date);

    boost::json::object fields;
    for (const auto& [name, value] : post_form.form.fields) fields[name] = value;
    std::cout << to_json_text(boost::json::object{{"url", post_form.url}, {"fields", std::move(fields)}})
              << '\n';
    return exit_ok;
}

int presign_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    if (expires < 1 || expires > 604800)
        throw usage_error("--expires must be 1 to 604800 seconds (7 days), got " + std::to_string(expires));
    if (post) return run_post(env, files);
    if (content_length_range || !post_fields.empty() || !starts_with.empty())
        throw usage_error("--content-length-range, --field and --starts-with shape a form upload: add --post");
    if (part_number && (*part_number < 1 || *part_number > 10000))
        throw usage_error("--part-number must be 1 to 10000, got " + std::to_string(*part_number));
    std::string verb = method.value_or(upload_id ? "PUT" : "GET");
    if (upload_id && verb != "PUT") throw usage_error("an UploadPart URL (--upload-id) is a PUT; drop --method GET");

    auto s3 = protocol::parse_s3_url(url);
    auto signing_date = date ? sigv4::amz_date::parse(*date) : sigv4::amz_date::from(std::chrono::system_clock::now());
    auto target = resolve(aws, env, files);
    auto loc = protocol::locate(target.endpoint, s3.bucket, s3.key, target.style);
    sigv4::signer signer(target.credentials.creds);

    std::vector<sigv4::query_param> query;
    if (upload_id) query = {{"partNumber", std::to_string(*part_number)}, {"uploadId", *upload_id}};
    std::cout << protocol::presign_url(loc, verb, query, signer, target.region, signing_date,
                                       std::chrono::seconds(expires))
              << '\n';
    return exit_ok;
}

} // namespace hoist::cli
