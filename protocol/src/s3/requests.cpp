#include "hoist/protocol/s3/requests.hpp"
#include "hoist/sigv4/encoding.hpp"

#include <boost/url/parse.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <cctype>

namespace hoist::protocol {
namespace {

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

s3_request base(const object_location& loc, std::string method) {
    s3_request r;
    r.method = std::move(method);
    r.host = loc.host;
    r.path = loc.path;
    return r;
}

void add_integrity(s3_request& r, const integrity& check) {
    switch (check.type) {
    case integrity::kind::none: break;
    case integrity::kind::crc32c:
        r.headers.push_back({"x-amz-checksum-crc32c", check.base64});
        if (!check.content_md5.empty()) r.headers.push_back({"Content-MD5", check.content_md5});
        break;
    case integrity::kind::md5: r.headers.push_back({"Content-MD5", check.base64}); break;
    }
}

void require_upload_id(const std::string& upload_id) {
    if (upload_id.empty()) throw std::invalid_argument("S3 request: the upload id is empty");
}

} // namespace

std::string_view to_string(integrity::kind k) {
    switch (k) {
    case integrity::kind::none: return "none";
    case integrity::kind::crc32c: return "crc32c";
    case integrity::kind::md5: return "md5";
    }
    return "?";
}

std::string s3_request::target() const {
    if (!raw_target.empty()) return raw_target;
    std::string out = sigv4::uri_encode(path.empty() ? "/" : path, true);
    char sep = '?';
    for (const auto& [name, value] : query) {
        out += sep;
        out += sigv4::uri_encode(name, false);
        if (!value.empty()) out += "=" + sigv4::uri_encode(value, false);
        sep = '&';
    }
    return out;
}

std::optional<std::string> s3_request::header_value(std::string_view name) const {
    for (const auto& h : headers)
        if (iequals(h.name, name)) return h.value;
    return std::nullopt;
}

s3_request create_multipart_upload(const object_location& loc, integrity::kind checksum,
                                   const std::string& content_type) {
    auto r = base(loc, "POST");
    r.query = {{"uploads", ""}};
    r.headers.push_back({"Content-Type", content_type});
    // Declaring the algorithm here is what makes S3 verify each part's CRC32C
    // and expect the part checksums again at Complete.
    if (checksum == integrity::kind::crc32c) r.headers.push_back({"x-amz-checksum-algorithm", "CRC32C"});
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    return r;
}

s3_request upload_part(const object_location& loc, const std::string& upload_id, std::uint32_t part_number,
                       std::uint64_t content_length, const integrity& check) {
    require_upload_id(upload_id);
    if (part_number < 1 || part_number > 10000) throw std::invalid_argument("S3 request: part number outside 1..10000");
    auto r = base(loc, "PUT");
    r.query = {{"partNumber", std::to_string(part_number)}, {"uploadId", upload_id}};
    r.content_length = content_length;
    add_integrity(r, check);
    return r;
}

s3_request complete_multipart_upload(const object_location& loc, const std::string& upload_id,
                                     const std::vector<completed_part>& parts) {
    require_upload_id(upload_id);
    auto r = base(loc, "POST");
    r.query = {{"uploadId", upload_id}};
    r.body = complete_body(parts);
    r.content_length = r.body.size();
    r.payload_hash = sigv4::sha256_hex(r.body);
    r.headers.push_back({"Content-Type", "application/xml"});
    return r;
}

s3_request abort_multipart_upload(const object_location& loc, const std::string& upload_id) {
    require_upload_id(upload_id);
    auto r = base(loc, "DELETE");
    r.query = {{"uploadId", upload_id}};
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    return r;
}

s3_request list_parts(const object_location& loc, const std::string& upload_id, std::uint32_t part_number_marker,
                      std::uint32_t max_parts) {
    require_upload_id(upload_id);
    if (max_parts < 1 || max_parts > 1000) throw std::invalid_argument("S3 request: max-parts outside 1..1000");
    auto r = base(loc, "GET");
    r.query = {{"max-parts", std::to_string(max_parts)}};
    if (part_number_marker > 0) r.query.push_back({"part-number-marker", std::to_string(part_number_marker)});
    r.query.push_back({"uploadId", upload_id});
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    return r;
}

s3_request list_multipart_uploads(const object_location& loc, const std::string& prefix,
                                  const std::string& key_marker, const std::string& upload_id_marker) {
    if (!loc.key.empty())
        throw std::invalid_argument("S3 request: ListMultipartUploads needs a bucket location (empty key)");
    auto r = base(loc, "GET");
    r.query = {{"uploads", ""}, {"encoding-type", "url"}};
    if (!key_marker.empty()) r.query.push_back({"key-marker", key_marker});
    if (!prefix.empty()) r.query.push_back({"prefix", prefix});
    if (!upload_id_marker.empty()) r.query.push_back({"upload-id-marker", upload_id_marker});
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    return r;
}

s3_request list_objects_v2(const object_location& loc, const std::string& prefix,
                           const std::string& continuation_token, std::uint32_t max_keys) {
    if (!loc.key.empty()) throw std::invalid_argument("S3 request: ListObjectsV2 needs a bucket location (empty key)");
    if (max_keys < 1 || max_keys > 1000) throw std::invalid_argument("S3 request: max-keys outside 1..1000");
    auto r = base(loc, "GET");
    r.query = {{"list-type", "2"}};
    if (!continuation_token.empty()) r.query.push_back({"continuation-token", continuation_token});
    r.query.push_back({"encoding-type", "url"});
    r.query.push_back({"max-keys", std::to_string(max_keys)});
    if (!prefix.empty()) r.query.push_back({"prefix", prefix});
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    return r;
}

s3_request put_object(const object_location& loc, std::uint64_t content_length, const integrity& check,
                      const std::string& content_type) {
    auto r = base(loc, "PUT");
    r.content_length = content_length;
    r.headers.push_back({"Content-Type", content_type});
    add_integrity(r, check);
    return r;
}

s3_request head_object(const object_location& loc) {
    auto r = base(loc, "HEAD");
    r.payload_hash = std::string(sigv4::empty_payload_sha256);
    return r;
}

s3_request delete_objects(const object_location& loc, const std::vector<std::string>& keys) {
    if (!loc.key.empty()) throw std::invalid_argument("S3 request: DeleteObjects needs a bucket location (empty key)");
    auto r = base(loc, "POST");
    r.query = {{"delete", ""}};
    r.body = delete_objects_body(keys);
    r.content_length = r.body.size();
    r.payload_hash = sigv4::sha256_hex(r.body);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int length = 0;
    if (EVP_Digest(r.body.data(), r.body.size(), digest, &length, EVP_md5(), nullptr) != 1)
        throw std::runtime_error("DeleteObjects: MD5 unavailable");
    r.headers.push_back({"Content-MD5", sigv4::base64_encode(digest, length)});
    r.headers.push_back({"Content-Type", "application/xml"});
    return r;
}

void sign(s3_request& req, const sigv4::signer& signer, const std::string& region, const sigv4::amz_date& date) {
    sigv4::request to_sign;
    to_sign.method = req.method;
    to_sign.path = req.path;
    to_sign.query = req.query;
    to_sign.headers = req.headers;
    to_sign.headers.insert(to_sign.headers.begin(), {"Host", req.host});
    to_sign.payload_hash = req.payload_hash;
    sigv4::signing_params params;
    params.region = region;
    params.date = date;
    auto result = signer.sign_headers(to_sign, params);
    req.headers.insert(req.headers.end(), result.added_headers.begin(), result.added_headers.end());
}

presigned_target parse_presigned_url(std::string_view url) {
    auto parsed = boost::urls::parse_uri(url);
    if (!parsed || (parsed->scheme() != "https" && parsed->scheme() != "http") || !parsed->has_authority())
        throw address_error("not a presigned http(s) URL");
    presigned_target out;
    std::string origin = std::string(parsed->scheme()) + "://" + std::string(parsed->encoded_authority());
    out.ep = parse_endpoint(origin);
    out.host = out.ep.authority();
    out.target = std::string(parsed->encoded_path());
    if (out.target.empty()) out.target = "/";
    if (parsed->has_query()) out.target += "?" + std::string(parsed->encoded_query());
    return out;
}

s3_request presigned_put(const presigned_target& target, std::uint64_t content_length, const integrity& check) {
    s3_request req;
    req.method = "PUT";
    req.host = target.host;
    req.raw_target = target.target;
    req.content_length = content_length;
    if (check.type == integrity::kind::md5) req.headers.push_back({"Content-MD5", check.base64});
    return req;
}

std::string presign_url(const object_location& loc, const std::string& method,
                        const std::vector<sigv4::query_param>& extra_query, const sigv4::signer& signer,
                        const std::string& region, const sigv4::amz_date& date, std::chrono::seconds expires) {
    sigv4::request to_sign;
    to_sign.method = method;
    to_sign.path = loc.path;
    to_sign.query = extra_query;
    to_sign.headers = {{"Host", loc.host}};
    to_sign.payload_hash = std::string(sigv4::unsigned_payload);
    sigv4::signing_params params;
    params.region = region;
    params.date = date;
    auto result = signer.presign(to_sign, params, expires);
    return loc.ep.scheme + "://" + loc.host + sigv4::canonical_uri(loc.path, false) + "?" +
           sigv4::presigned_query(result);
}

namespace {

// Whether `etag` (quoted or not) is the hex form of the base64 MD5 `md5_base64`.
bool etag_is_md5(std::string_view md5_base64, std::string_view etag) {
    auto digest = sigv4::base64_decode(md5_base64);
    if (!digest || digest->size() != 16) return false;
    if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') etag = etag.substr(1, etag.size() - 2);
    if (etag.size() != 32) return false;
    static const char* hex = "0123456789abcdef";
    for (std::size_t i = 0; i < 16; ++i) {
        auto byte = static_cast<unsigned char>((*digest)[i]);
        char hi = static_cast<char>(std::tolower(static_cast<unsigned char>(etag[2 * i])));
        char lo = static_cast<char>(std::tolower(static_cast<unsigned char>(etag[2 * i + 1])));
        if (hi != hex[byte >> 4] || lo != hex[byte & 15]) return false;
    }
    return true;
}

} // namespace

integrity::kind integrity_confirmed_by(const integrity& sent, std::optional<std::string_view> echoed_crc32c,
                                       std::string_view etag) {
    if (sent.base64.empty()) return integrity::kind::none;
    switch (sent.type) {
    case integrity::kind::none: return integrity::kind::none;
    case integrity::kind::crc32c:
        if (echoed_crc32c && *echoed_crc32c == sent.base64) return integrity::kind::crc32c;
        if (!sent.content_md5.empty() && etag_is_md5(sent.content_md5, etag)) return integrity::kind::md5;
        return integrity::kind::none;
    case integrity::kind::md5: return etag_is_md5(sent.base64, etag) ? integrity::kind::md5 : integrity::kind::none;
    }
    return integrity::kind::none;
}

presigned_post presign_post(const endpoint& ep, addressing style, const sigv4::post_policy& policy,
                            const sigv4::signer& signer, const std::string& region, const sigv4::amz_date& date) {
    auto loc = locate(ep, policy.bucket, "", style);
    presigned_post out;
    out.form = sigv4::presign_post(signer, policy, region, date);
    out.url = loc.ep.scheme + "://" + loc.host + sigv4::canonical_uri(loc.path, false);
    return out;
}

bool integrity_confirmed(const integrity& sent, std::optional<std::string_view> echoed_crc32c,
                         std::string_view etag) {
    return integrity_confirmed_by(sent, echoed_crc32c, etag) != integrity::kind::none;
}

} // namespace hoist::protocol
