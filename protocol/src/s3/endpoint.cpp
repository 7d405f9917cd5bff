#include "hoist/protocol/s3/endpoint.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <charconv>

namespace hoist::protocol {
namespace urls = boost::urls;

namespace {

bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

std::string lowercase(std::string s) {
    for (char& c : s)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return s;
}

} // namespace

std::string endpoint::authority() const {
    std::string out = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    std::uint16_t default_port = tls() ? 443 : 80;
    if (port != default_port) out += ":" + std::to_string(port);
    return out;
}

std::string endpoint::origin() const { return scheme + "://" + authority(); }

endpoint parse_endpoint(std::string_view text) {
    auto bad = [&](std::string_view why) {
        return address_error("invalid endpoint URL '" + std::string(text) + "': " + std::string(why));
    };
    auto parsed = urls::parse_uri(text);
    if (!parsed) throw bad("not a URL (expected https://HOST[:PORT])");
    urls::url_view u = *parsed;

    endpoint ep;
    ep.scheme = lowercase(std::string(u.scheme()));
    if (ep.scheme != "https" && ep.scheme != "http") throw bad("the scheme must be https or http");
    if (u.has_userinfo()) throw bad("user info is not allowed (credentials come from the AWS environment)");
    if (u.host_type() == urls::host_type::ipv6)
        ep.host = u.host_ipv6_address().to_string();
    else
        ep.host = lowercase(std::string(u.encoded_host()));
    if (ep.host.empty()) throw bad("the host is empty");
    if (u.host_type() == urls::host_type::ipvfuture) throw bad("unsupported host form");
    if (ep.host.find('%') != std::string::npos) throw bad("the host contains percent-escapes");
    ep.port = ep.tls() ? 443 : 80;
    if (u.has_port()) {
        auto p = u.port();
        unsigned value = 0;
        auto [end, ec] = std::from_chars(p.data(), p.data() + p.size(), value);
        if (p.empty() || ec != std::errc() || end != p.data() + p.size() || value == 0 || value > 65535)
            throw bad("the port must be 1-65535");
        ep.port = static_cast<std::uint16_t>(value);
    }
    if (!u.encoded_path().empty() && u.encoded_path() != "/")
        throw bad("a path is not supported; give only scheme, host and port");
    if (u.has_query() || u.has_fragment()) throw bad("a query or fragment is not allowed");
    ep.is_aws = ep.host.ends_with(".amazonaws.com");
    return ep;
}

endpoint aws_endpoint(std::string_view region) {
    if (region.empty() || !std::all_of(region.begin(), region.end(),
                                       [](char c) { return is_lower_alnum(c) || c == '-'; }))
        throw address_error("invalid region '" + std::string(region) + "'");
    endpoint ep;
    ep.host = "s3." + std::string(region) + ".amazonaws.com";
    ep.is_aws = true;
    return ep;
}

void validate_bucket_name(std::string_view bucket) {
    auto bad = [&](std::string_view why) {
        return address_error("invalid bucket name '" + std::string(bucket) + "': " + std::string(why));
    };
    if (bucket.size() < 3 || bucket.size() > 255) throw bad("it must be 3 to 63 characters long");
    for (char c : bucket)
        if (!(is_lower_alnum(c) || c == '.' || c == '-' || c == '_' || (c >= 'A' && c <= 'Z')))
            throw bad("only letters, digits, '.', '-' and '_' are allowed");
    if (!std::isalnum(static_cast<unsigned char>(bucket.front())) ||
        !std::isalnum(static_cast<unsigned char>(bucket.back())))
        throw bad("it must start and end with a letter or digit");
}

bool virtual_host_compatible(std::string_view bucket) {
    if (bucket.size() < 3 || bucket.size() > 63) return false;
    if (!is_lower_alnum(bucket.front()) || !is_lower_alnum(bucket.back())) return false;
    return std::all_of(bucket.begin(), bucket.end(), [](char c) { return is_lower_alnum(c) || c == '-'; });
}

s3_url parse_s3_url(std::string_view text, bool key_required) {
    constexpr std::string_view prefix = "s3://";
    if (!text.starts_with(prefix))
        throw address_error("invalid S3 URL '" + std::string(text) + "': expected s3://BUCKET/KEY");
    std::string_view rest = text.substr(prefix.size());
    auto slash = rest.find('/');
    s3_url out;
    out.bucket = std::string(rest.substr(0, slash));
    if (out.bucket.empty())
        throw address_error("invalid S3 URL '" + std::string(text) + "': the bucket is missing");
    validate_bucket_name(out.bucket);
    if (slash != std::string_view::npos) out.key = std::string(rest.substr(slash + 1));
    if (key_required && out.key.empty())
        throw address_error("invalid S3 URL '" + std::string(text) + "': the object key is missing");
    if (out.key.size() > 1024)
        throw address_error("invalid S3 URL: the object key is longer than S3's 1024-byte limit");
    return out;
}

object_location locate(const endpoint& ep, std::string_view bucket, std::string_view key, addressing style) {
    validate_bucket_name(bucket);
    bool virtual_hosted = false;
    switch (style) {
    case addressing::virtual_host:
        // Over plain HTTP a dotted name is a valid host; over TLS it breaks the certificate.
        if (!virtual_host_compatible(bucket) &&
            !(bucket.find('.') != std::string_view::npos && !ep.tls() && bucket == lowercase(std::string(bucket))))
            throw address_error("bucket '" + std::string(bucket) +
                                "' cannot be addressed virtual-hosted (not a DNS label without dots); use path-style");
        virtual_hosted = true;
        break;
    case addressing::path: break;
    case addressing::automatic: virtual_hosted = ep.is_aws && virtual_host_compatible(bucket); break;
    }
    object_location loc;
    loc.ep = ep;
    loc.bucket = std::string(bucket);
    loc.key = std::string(key);
    if (virtual_hosted) {
        loc.host = std::string(bucket) + "." + ep.authority();
        loc.path = "/" + std::string(key);
    } else {
        loc.host = ep.authority();
        loc.path = "/" + std::string(bucket) + (key.empty() ? "" : "/" + std::string(key));
    }
    return loc;
}

} // namespace hoist::protocol
