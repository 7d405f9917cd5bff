#include "s3rver.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hoist::test {

namespace fs = std::filesystem;

namespace {

constexpr int startup_seconds = 30;

bool on_path(const std::string& program) {
    const char* p = std::getenv("PATH");
    std::stringstream dirs(p && *p ? p : "/usr/local/bin:/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        if (dir.empty()) continue;
        if (::access((dir + "/" + program).c_str(), X_OK) == 0) return true;
    }
    return false;
}

} // namespace

s3rver_instance::s3rver_instance(const std::vector<std::string>& buckets) {
    const std::string root = HOIST_SOURCE_DIR;
    if (!on_path("node"))
        throw std::runtime_error("s3rver_instance: node is not installed (not on PATH); run tools/install-deps");
    if (!fs::exists(root + "/tools/node/node_modules/s3rver/package.json"))
        throw std::runtime_error("s3rver_instance: s3rver is not installed in " + root +
                                 "/tools/node/node_modules; run tools/install-deps");
    std::vector<std::string> args;
    for (const auto& b : buckets) args.insert(args.end(), {"--bucket", b});
    script_ = std::make_unique<local_server_script>("s3rver_instance", root + "/tools/s3rver-local", args,
                                                    std::vector<std::string>{"HOIST_S3_ENDPOINT", "HOIST_S3_CA",
                                                                             "HOIST_S3_DATA"},
                                                    startup_seconds);
    endpoint_ = script_->value("HOIST_S3_ENDPOINT");
    ca_file_ = script_->value("HOIST_S3_CA");
    data_dir_ = script_->value("HOIST_S3_DATA");
}

s3rver_instance::~s3rver_instance() {
    script_.reset();
    // The script removes its directory itself; if it was killed, do it here.
    fs::path dir = fs::path(data_dir_).parent_path();
    std::error_code ec;
    if (dir.filename().string().starts_with("hoist-s3rver.") && fs::exists(dir, ec)) fs::remove_all(dir, ec);
}

std::string s3rver_instance::object_path(const std::string& bucket, const std::string& key) const {
    return data_dir_ + "/" + bucket + "/" + key + "._S3rver_object";
}

std::optional<std::string> s3rver_instance::stored_object(const std::string& bucket, const std::string& key) const {
    std::string path = object_path(bucket, key);
    std::error_code ec;
    if (!fs::is_regular_file(path, ec)) return std::nullopt;
    std::ifstream in(path, std::ios::binary);
    if (!in) return std::nullopt;
    std::string bytes(static_cast<std::size_t>(fs::file_size(path)), '\0');
    in.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (static_cast<std::size_t>(in.gcount()) != bytes.size()) return std::nullopt;
    return bytes;
}

std::vector<std::string> s3rver_instance::pending_uploads(const std::string& bucket) const {
    std::vector<std::string> ids;
    std::error_code ec;
    for (fs::directory_iterator it(data_dir_ + "/" + bucket + "/._S3rver_uploads", ec), end; !ec && it != end;
         it.increment(ec))
        ids.push_back(it->path().filename().string());
    return ids;
}

} // namespace hoist::test
