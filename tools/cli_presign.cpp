// `hoist presign`: prints one presigned URL and nothing else on stdout.
#include "cli_presign.hpp"

#include "hoist/protocol/s3/requests.hpp"

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
    aws.add_to(*app);
}

int presign_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    if (expires < 1 || expires > 604800)
        throw usage_error("--expires must be 1 to 604800 seconds (7 days), got " + std::to_string(expires));
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
