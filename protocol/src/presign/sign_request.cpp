// Uppy's signRequest route. See presign/sign_request.hpp.
#include "hoist/protocol/presign/sign_request.hpp"

#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/presigning.hpp"   // storage_location
#include "hoist/protocol/s3/part_plan.hpp"         // max_parts
#include "hoist/protocol/s3/requests.hpp"          // presign_url

#include "json_values.hpp"
#include "text.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace hoist::protocol {

namespace json = boost::json;

namespace {

[[noreturn]] void invalid(std::string message) {
    throw api_error(400, std::string(api_code::invalid_request), std::move(message));
}

std::string string_field(const json::object& o, std::string_view name, bool required) {
    const json::value* v = presign_json::present(o, name);
    if (!v) {
        if (required) invalid(std::string(name) + " is required");
        return {};
    }
    if (!v->is_string())
        invalid(std::string(name) + " must be a string, not " + std::string(presign_json::kind_name(*v)));
    if (required && v->get_string().empty()) invalid(std::string(name) + " must not be empty");
    return std::string(v->get_string());
}

} // namespace

std::string_view to_string(sign_request_kind k) {
    switch (k) {
    case sign_request_kind::put_object: return "PutObject";
    case sign_request_kind::create_multipart_upload: return "CreateMultipartUpload";
    case sign_request_kind::upload_part: return "UploadPart";
    case sign_request_kind::complete_multipart_upload: return "CompleteMultipartUpload";
    case sign_request_kind::list_parts: return "ListParts";
    case sign_request_kind::abort_multipart_upload: return "AbortMultipartUpload";
    }
    return "unknown";
}

sign_request_input parse_sign_request(std::string_view body) {
    json::error_code ec;
    json::value doc = json::parse(body, ec);
    if (ec || !doc.is_object())
        throw api_error(400, std::string(api_code::invalid_json), "the request body must be a JSON object");
    const json::object& o = doc.get_object();
    sign_request_input in;
    in.method = string_field(o, "method", true);
    in.key = string_field(o, "key", true);
    in.upload_id = string_field(o, "uploadId", false);
    if (!in.upload_id.empty() && !is_upload_id(in.upload_id))
        invalid("uploadId must be 1 to 1024 visible ASCII characters");
    if (const json::value* n = presign_json::present(o, "partNumber")) {
        auto v = presign_json::as_uint(*n);
        if (!v || *v < 1 || *v > max_parts) invalid("partNumber must be a whole number 1..10000");
        in.part_number = static_cast<std::uint32_t>(*v);
    }
    if (const json::value* e = presign_json::present(o, "expiresIn")) {
        auto v = presign_json::as_uint(*e);
        if (!v || *v < 1 || *v > static_cast<std::uint64_t>(sigv4::max_presign_expiry.count()))
            invalid("expiresIn must be a whole number of seconds, at least 1");
        in.expires_in = static_cast<std::int64_t>(*v);
    }
    in.content_type = string_field(o, "contentType", false);
    return in;
}

sign_request_kind classify_sign_request(const sign_request_input& r) {
    const bool id = !r.upload_id.empty();
    const bool part = r.part_number.has_value();
    if (r.method == "PUT" && !id && !part) return sign_request_kind::put_object;
    if (r.method == "POST" && !id && !part) return sign_request_kind::create_multipart_upload;
    if (r.method == "PUT" && id && part) return sign_request_kind::upload_part;
    if (r.method == "POST" && id && !part) return sign_request_kind::complete_multipart_upload;
    if (r.method == "GET" && id && !part) return sign_request_kind::list_parts;
    if (r.method == "DELETE" && id && !part) return sign_request_kind::abort_multipart_upload;
    throw api_error(400, std::string(api_code::not_offered),
                    "this service signs only PutObject (PUT), CreateMultipartUpload (POST), UploadPart (PUT with "
                    "uploadId and partNumber), CompleteMultipartUpload (POST with uploadId), ListParts (GET with "
                    "uploadId) and AbortMultipartUpload (DELETE with uploadId); not " +
                        (r.method.size() <= 10 && std::all_of(r.method.begin(), r.method.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) ? r.method : std::string("this method")) +
                        (id ? " with" : " without") + " uploadId" + (part ? " and with partNumber" : ""));
}

signed_s3_request sign_s3_request(const service_config& config, const sigv4::signer& signer, std::string_view user,
                                  const sign_request_input& r, std::int64_t unix_ms, const sigv4::amz_date& date) {
    signed_s3_request out;
    out.kind = classify_sign_request(r);
    const bool creating =
        out.kind == sign_request_kind::put_object || out.kind == sign_request_kind::create_multipart_upload;
    if (creating) {
        out.key = key_for_proposed_name(config, user, unix_ms, r.key);
    } else {
        require_own_key(config, user, r.key);
        out.key = r.key;
    }
    if (r.expires_in && *r.expires_in > config.presign_expiry.count())
        invalid("expiresIn must be at most this service's presign_expiry, " +
                std::to_string(config.presign_expiry.count()) + " seconds");
    const std::chrono::seconds expires = r.expires_in ? std::chrono::seconds(*r.expires_in) : config.presign_expiry;
    std::vector<sigv4::query_param> query;
    std::string method;
    switch (out.kind) {
    case sign_request_kind::put_object: method = "PUT"; break;
    case sign_request_kind::create_multipart_upload:
        method = "POST";
        query = {{"uploads", ""}};
        break;
    case sign_request_kind::upload_part:
        method = "PUT";
        query = {{"partNumber", std::to_string(*r.part_number)}, {"uploadId", r.upload_id}};
        break;
    case sign_request_kind::complete_multipart_upload:
        method = "POST";
        query = {{"uploadId", r.upload_id}};
        break;
    case sign_request_kind::list_parts:
        method = "GET";
        query = {{"uploadId", r.upload_id}};
        break;
    case sign_request_kind::abort_multipart_upload:
        method = "DELETE";
        query = {{"uploadId", r.upload_id}};
        break;
    }
    out.url = presign_url(storage_location(config, out.key), method, query, signer, config.storage.region, date, expires);
    return out;
}

std::string sign_request_response_json(const signed_s3_request& s) {
    return json::serialize(json::object{{"url", s.url}, {"key", s.key}});
}

} // namespace hoist::protocol
