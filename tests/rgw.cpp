#include "rgw.hpp"

namespace hoist::test {

namespace {
// A cold start is ~4 s; a loaded CI machine, or tools/install-deps on first
// use, takes longer.
constexpr int startup_seconds = 90;
} // namespace

rgw_instance::rgw_instance(const std::vector<std::string>& buckets) {
    std::vector<std::string> args;
    for (const auto& b : buckets) args.insert(args.end(), {"--bucket", b});
    script_ = std::make_unique<local_server_script>(
        "rgw_instance", std::string(HOIST_SOURCE_DIR) + "/tools/rgw-local", args,
        std::vector<std::string>{"HOIST_S3_ENDPOINT", "HOIST_S3_HTTP_ENDPOINT", "HOIST_S3_CA",
                                 "HOIST_S3_ACCESS_KEY_ID", "HOIST_S3_CREDENTIALS"},
        startup_seconds);
    endpoint_ = script_->value("HOIST_S3_ENDPOINT");
    http_endpoint_ = script_->value("HOIST_S3_HTTP_ENDPOINT");
    ca_file_ = script_->value("HOIST_S3_CA");
    access_key_id_ = script_->value("HOIST_S3_ACCESS_KEY_ID");
    credentials_file_ = script_->value("HOIST_S3_CREDENTIALS");
}

rgw_instance::~rgw_instance() = default;

} // namespace hoist::test
