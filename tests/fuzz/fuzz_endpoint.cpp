// Where requests go (protocol/s3/endpoint.hpp): endpoint URLs (--endpoint-url,
// the service config), s3:// URLs from the command line, bucket names, and the
// addressing that locate() derives from them.
//
// Input: one selector byte, then
//   0  an endpoint URL
//   1  an s3:// URL (bit 3 of the selector: key required)
//   2  a bucket name
//   3  a region (aws_endpoint)
//   4  ENDPOINT \n BUCKET \n KEY for locate(), bits 3-4 choose the addressing
// Invariants beyond "no crash": only address_error escapes; a parsed endpoint
// re-parses from its origin() to the same endpoint; an s3:// URL rebuilt from
// its bucket and key parses to the same; a virtual-host-compatible bucket is a
// valid bucket; locate() gives an absolute path and a host that names the
// bucket exactly when it is virtual-hosted.
#include "fuzz_check.hpp"

#include "hoist/protocol/s3/endpoint.hpp"

#include <string>

namespace {

namespace p = hoist::protocol;

bool same(const p::endpoint& a, const p::endpoint& b) {
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.is_aws == b.is_aws;
}

void check_endpoint(const p::endpoint& ep) {
    HOIST_FUZZ_CHECK(ep.scheme == "https" || ep.scheme == "http");
    HOIST_FUZZ_CHECK(!ep.host.empty() && ep.port != 0);
    const p::endpoint again = p::parse_endpoint(ep.origin());
    if (!same(ep, again)) std::fprintf(stderr, "origin %s re-parses differently\n", ep.origin().c_str());
    HOIST_FUZZ_CHECK(same(ep, again));
}

void check_location(const p::endpoint& ep, std::string_view bucket, std::string_view key, p::addressing style) {
    const p::object_location loc = p::locate(ep, bucket, key, style);
    HOIST_FUZZ_CHECK(loc.path.starts_with('/'));
    HOIST_FUZZ_CHECK(loc.bucket == bucket && loc.key == key);
    const bool virtual_hosted = loc.host != ep.authority();
    if (virtual_hosted) {
        HOIST_FUZZ_CHECK(loc.host == std::string(bucket) + "." + ep.authority());
        HOIST_FUZZ_CHECK(loc.path == "/" + std::string(key));
    } else {
        HOIST_FUZZ_CHECK(loc.path.starts_with("/" + std::string(bucket)));
    }
    if (style == p::addressing::path) HOIST_FUZZ_CHECK(!virtual_hosted);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::uint8_t selector = data[0];
    std::string_view text = hoist::fuzz::as_text(data + 1, size - 1);
    try {
        switch ((selector & 7) % 5) {
        case 0: check_endpoint(p::parse_endpoint(text)); break;
        case 1: {
            const bool key_required = (selector & 8) != 0;
            const p::s3_url url = p::parse_s3_url(text, key_required);
            HOIST_FUZZ_CHECK(url.key.size() <= 1024);
            HOIST_FUZZ_CHECK(!key_required || !url.key.empty());
            p::validate_bucket_name(url.bucket);
            const p::s3_url again = p::parse_s3_url("s3://" + url.bucket + "/" + url.key, false);
            HOIST_FUZZ_CHECK(again.bucket == url.bucket && again.key == url.key);
            break;
        }
        case 2: {
            const bool compatible = p::virtual_host_compatible(text);
            try {
                p::validate_bucket_name(text);
            } catch (const p::address_error&) {
                HOIST_FUZZ_CHECK(!compatible);
                throw;
            }
            break;
        }
        case 3: {
            const p::endpoint ep = p::aws_endpoint(text);
            HOIST_FUZZ_CHECK(ep.is_aws && ep.tls());
            check_endpoint(ep);
            break;
        }
        case 4: {
            const std::string_view url = hoist::fuzz::next_piece(text, "\n");
            const std::string_view bucket = hoist::fuzz::next_piece(text, "\n");
            const p::addressing style = static_cast<p::addressing>((selector >> 3) % 3);
            const p::endpoint ep = p::parse_endpoint(url);
            check_location(ep, bucket, text, style);
            break;
        }
        }
    } catch (const p::address_error& e) {
        HOIST_FUZZ_CHECK(*e.what() != '\0');
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        HOIST_FUZZ_CHECK(!"only address_error may escape");
    }
    return 0;
}
