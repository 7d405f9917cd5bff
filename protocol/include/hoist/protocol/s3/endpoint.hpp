// Where S3 requests go: endpoint URLs, s3:// object URLs, and addressing style.
//
// AWS endpoints (the default, https://s3.REGION.amazonaws.com) use
// virtual-hosted addressing, `bucket.s3.REGION.amazonaws.com`, except for bucket
// names that are not DNS labels or contain dots: a dotted name breaks the
// `*.s3.REGION.amazonaws.com` wildcard certificate, so those go path-style, as
// the AWS SDKs do. Custom endpoints (MinIO, s3rver, a test server at
// https://127.0.0.1:9000) are path-style unless virtual-hosted is asked for.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hoist::protocol {

// A malformed endpoint URL, s3:// URL or bucket name. what() says which and why.
class address_error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

enum class addressing { automatic, path, virtual_host };

struct endpoint {
    std::string scheme = "https";   // "https" or "http"
    std::string host;               // without brackets for IPv6 literals
    std::uint16_t port = 443;
    bool is_aws = false;            // the default AWS endpoint for a region

    bool tls() const noexcept { return scheme == "https"; }
    // "host" or "host:port" (port omitted when it is the scheme's default), with
    // IPv6 literals bracketed: the HTTP Host header and the signed host.
    std::string authority() const;
    // scheme://authority
    std::string origin() const;
};

// Parses "https://host[:port][/]". Throws address_error for another scheme, an
// empty host, a bad port, user info, a path other than "/", a query or fragment.
endpoint parse_endpoint(std::string_view url);

// The AWS endpoint of a region: https://s3.REGION.amazonaws.com.
endpoint aws_endpoint(std::string_view region);

struct s3_url {
    std::string bucket;
    std::string key;   // taken literally, as aws-cli does: no percent-decoding
};

// Parses "s3://BUCKET/KEY". Throws address_error for another scheme, a missing
// or invalid bucket name, or (when key_required) an empty key.
s3_url parse_s3_url(std::string_view url, bool key_required = true);

// Bucket names S3 accepts: 3-63 characters of a-z 0-9 . -, starting and ending
// with a letter or digit. Legacy us-east-1 names with capitals or '_' are also
// let through (they still exist), but never virtual-hosted.
void validate_bucket_name(std::string_view bucket);

// Whether `bucket` can be a host label under TLS: a DNS-compatible name
// without dots.
bool virtual_host_compatible(std::string_view bucket);

// Where the requests for one object (or, with an empty key, its bucket) go.
struct object_location {
    endpoint ep;
    std::string host;   // Host header value (authority, bucket-prefixed when virtual-hosted)
    std::string path;   // raw, un-encoded: "/bucket/key" or "/key"
    std::string bucket;
    std::string key;
};

// Throws address_error when virtual-hosted addressing is forced on a bucket
// that cannot be a host label.
object_location locate(const endpoint& ep, std::string_view bucket, std::string_view key,
                       addressing style);

} // namespace hoist::protocol
