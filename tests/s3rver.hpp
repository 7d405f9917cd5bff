// A running s3rver (tools/s3rver-local): a local S3-compatible server over
// HTTPS on 127.0.0.1, for interop tests of the real hoist binary. See the
// header comment of tools/s3rver-local for what s3rver checks and what it
// does not (it verifies no signature and no Content-MD5, for instance).
#pragma once

#include "local_server.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace hoist::test {

class s3rver_instance {
public:
    // Starts tools/s3rver-local with the given buckets and waits (at most
    // ~30 s) for it to say it is ready. Throws std::runtime_error, with the
    // reason, when node or s3rver is not installed or the server does not start.
    explicit s3rver_instance(const std::vector<std::string>& buckets = {"bucket"});
    // Stops the server (SIGTERM to its process group, SIGKILL after 10 s) and
    // waits for it; the server's own cleanup removes its temporary directory.
    ~s3rver_instance();
    s3rver_instance(const s3rver_instance&) = delete;
    s3rver_instance& operator=(const s3rver_instance&) = delete;

    const std::string& endpoint() const { return endpoint_; } // https://127.0.0.1:PORT
    const std::string& ca_file() const { return ca_file_; }   // the self-signed certificate (PEM)
    const std::string& data_dir() const { return data_dir_; } // s3rver's data directory

    // The file holding an object's bytes: DATA/BUCKET/KEY._S3rver_object (the
    // key's '/' are directories). Keys with empty, "." or ".." segments do not
    // map one to one onto files.
    std::string object_path(const std::string& bucket, const std::string& key) const;
    // The object's bytes as s3rver stored them, or nullopt if it has none.
    std::optional<std::string> stored_object(const std::string& bucket, const std::string& key) const;
    // The multipart uploads s3rver holds for a bucket (created, neither
    // completed nor aborted): their upload ids.
    std::vector<std::string> pending_uploads(const std::string& bucket) const;

    // Whether the server process is still running (s3rver dies on some bad
    // requests, e.g. CompleteMultipartUpload naming a part it does not have).
    bool running() { return script_->running(); }
    // What the server wrote on stderr so far (nothing unless something failed).
    std::string log() const { return script_->log(); }

private:
    std::unique_ptr<local_server_script> script_;
    std::string endpoint_, ca_file_, data_dir_;
};

} // namespace hoist::test
