// A running Ceph RADOS Gateway (tools/rgw-local): a real, distributed S3
// implementation on a one-node cluster, over HTTPS and plain HTTP on
// 127.0.0.1, for interop tests of the real hoist binary. Unlike s3rver it
// verifies SigV4 signatures and Content-MD5, has ListParts, Abort and
// ListMultipartUploads, and enforces the 5 MiB part minimum; like many stores
// in the field it accepts x-amz-checksum-crc32c and ignores it (see the header
// of tools/rgw-local).
#pragma once

#include "local_server.hpp"

#include <memory>
#include <string>
#include <vector>

namespace hoist::test {

class rgw_instance {
public:
    // Starts tools/rgw-local with the given buckets and waits (at most ~90 s)
    // for it to say it is ready. Throws std::runtime_error, with the reason,
    // when Ceph is not installed or the cluster does not come up.
    explicit rgw_instance(const std::vector<std::string>& buckets = {"bucket"});
    ~rgw_instance();
    rgw_instance(const rgw_instance&) = delete;
    rgw_instance& operator=(const rgw_instance&) = delete;

    const std::string& endpoint() const { return endpoint_; }            // https://127.0.0.1:PORT
    const std::string& http_endpoint() const { return http_endpoint_; }  // http://127.0.0.1:PORT
    const std::string& ca_file() const { return ca_file_; }              // the self-signed certificate (PEM)
    const std::string& access_key_id() const { return access_key_id_; }
    // An AWS shared credentials file (profile "default") with the user's keys:
    // the secret is never on a command line or in a log.
    const std::string& credentials_file() const { return credentials_file_; }

    bool running() { return script_->running(); }
    std::string log() const { return script_->log(); }

private:
    std::unique_ptr<local_server_script> script_;
    std::string endpoint_, http_endpoint_, ca_file_, access_key_id_, credentials_file_;
};

} // namespace hoist::test
