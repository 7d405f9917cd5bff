// S3 XML response parsing and the CompleteMultipartUpload request body.
//
// Design notes:
// - Namespaces: S3 puts its documents in the default namespace
//   "http://s3.amazonaws.com/doc/2006-03-01/". pugixml does not resolve
//   namespaces, so with a default namespace names carry no prefix. Some
//   S3-compatible servers omit xmlns and a few emit a prefix (s3:Key); we compare
//   local names only, so all three forms parse alike.
// - Security: any DOCTYPE is refused. pugixml never expands custom entities, but
//   refusing the whole construct means no entity trick reaches the values at all.
// - Failure reporting: bad input never throws; it becomes an xml_problem whose
//   text names what was wrong, because it ends up in the user's error message.

#include "hoist/protocol/s3/xml.hpp"

#include <pugixml.hpp>

#include <charconv>
#include <limits>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <utility>

namespace hoist::protocol {
namespace {

constexpr std::uint32_t max_part_number = 10000;  // S3's hard limit on part numbers

// --- element access by local name --------------------------------------------

std::string_view local_name(const char* qualified) {
    std::string_view name{qualified};
    const auto colon = name.rfind(':');
    return colon == std::string_view::npos ? name : name.substr(colon + 1);
}

pugi::xml_node child(pugi::xml_node parent, std::string_view name) {
    for (auto node : parent.children()) {
        if (node.type() == pugi::node_element && local_name(node.name()) == name) return node;
    }
    return {};
}

// The element's text, or "" when absent. child_value() takes the first PCDATA or
// CDATA child, which is how S3 (and CDATA-happy compatibles) send text.
std::string text(pugi::xml_node parent, std::string_view name) {
    return child(parent, name).child_value();
}

std::string_view trim(std::string_view s) {
    constexpr std::string_view space = " \t\r\n";
    const auto first = s.find_first_not_of(space);
    if (first == std::string_view::npos) return {};
    return s.substr(first, s.find_last_not_of(space) - first + 1);
}

// --- typed fields ----------------------------------------------------------

// Unsigned decimal, digits only (no sign, no hex), overflow refused. Surrounding
// whitespace is tolerated because pretty-printing servers sometimes add it.
template <class U>
std::optional<U> to_unsigned(std::string_view raw) {
    static_assert(std::is_unsigned_v<U>);
    const auto s = trim(raw);
    if (s.empty() || s.front() < '0' || s.front() > '9') return std::nullopt;
    U value{};
    const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    if (ec != std::errc{} || end != s.data() + s.size()) return std::nullopt;
    return value;
}

std::optional<bool> to_bool(std::string_view raw) {
    const auto s = trim(raw);
    if (s == "true") return true;
    if (s == "false") return false;
    return std::nullopt;
}

xml_problem missing(std::string_view parent, std::string_view name) {
    return {"missing <" + std::string{name} + "> in <" + std::string{parent} + ">"};
}

xml_problem bad_value(std::string_view name, std::string_view value, std::string_view expected) {
    return {"bad <" + std::string{name} + "> \"" + std::string{value} + "\": expected " +
            std::string{expected}};
}

// A required unsigned element. `lo`/`hi` bound the accepted range.
template <class U>
std::variant<U, xml_problem> required_number(pugi::xml_node parent, std::string_view name,
                                             U lo = 0, U hi = std::numeric_limits<U>::max()) {
    const auto node = child(parent, name);
    if (!node) return missing(local_name(parent.name()), name);
    const std::string_view raw = node.child_value();
    const auto value = to_unsigned<U>(raw);
    if (!value || *value < lo || *value > hi) {
        return bad_value(name, raw,
                         "an integer in " + std::to_string(lo) + ".." + std::to_string(hi));
    }
    return *value;
}

// An optional unsigned element: absent gives `fallback`, present must parse.
template <class U>
std::variant<U, xml_problem> optional_number(pugi::xml_node parent, std::string_view name,
                                             U fallback, U hi = std::numeric_limits<U>::max()) {
    if (!child(parent, name)) return fallback;
    return required_number<U>(parent, name, 0, hi);
}

// IsTruncated: S3 always sends it; absent reads as "not truncated" (the safe end
// of pagination), but a value other than true/false is a broken document.
std::variant<bool, xml_problem> is_truncated(pugi::xml_node parent) {
    const auto node = child(parent, "IsTruncated");
    if (!node) return false;
    const std::string_view raw = node.child_value();
    if (const auto value = to_bool(raw)) return *value;
    return bad_value("IsTruncated", raw, "true or false");
}

std::variant<std::string, xml_problem> required_text(pugi::xml_node parent,
                                                     std::string_view name) {
    auto value = text(parent, name);
    if (value.empty()) return missing(local_name(parent.name()), name);
    return value;
}

// --- encoding-type=url -------------------------------------------------------

// When a list request asked for encoding-type=url, S3 percent-encodes keys (and
// key markers) and says so with <EncodingType>url</EncodingType>. Decoding
// follows the AWS SDKs: '+' is a space, %XX a byte.
std::optional<std::string> url_decode(std::string_view s) {
    const auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    out.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] == '+') {
            out += ' ';
        } else if (s[i] != '%') {
            out += s[i];
        } else {
            if (i + 2 >= s.size()) return std::nullopt;  // "%" or "%4" at the end
            const int hi = hex(s[i + 1]);
            const int lo = hex(s[i + 2]);
            if (hi < 0 || lo < 0) return std::nullopt;
            out += static_cast<char>(hi * 16 + lo);
            i += 2;
        }
    }
    return out;
}

bool url_encoded(pugi::xml_node root) {
    return trim(text(root, "EncodingType")) == "url";
}

// Decodes `value` in place when the document is url-encoded.
std::optional<xml_problem> decode_if(bool encoded, std::string& value, std::string_view name) {
    if (!encoded) return std::nullopt;
    auto decoded = url_decode(value);
    if (!decoded) return bad_value(name, value, "url-encoded text");
    value = std::move(*decoded);
    return std::nullopt;
}

// --- loading -------------------------------------------------------------

// A failed parse "looks truncated" when the body stops before closing its root
// element: the usual shape of a cut connection. pugixml keeps the partial tree,
// so the root's name is known even on failure.
bool looks_truncated(const pugi::xml_document& doc, const pugi::xml_parse_result& result,
                     std::string_view body) {
    const auto root = doc.document_element();
    if (!root) return static_cast<std::size_t>(result.offset) + 1 >= body.size();
    const std::string close = "</" + std::string{root.name()} + ">";
    return !trim(body).ends_with(close);
}

xml_problem load_problem(const pugi::xml_document& doc, const pugi::xml_parse_result& result,
                         std::string_view body) {
    if (result.status == pugi::status_no_document_element) {
        return {body.empty() ? "empty body: expected XML" : "not XML: no root element"};
    }
    if (result.status == pugi::status_bad_doctype) return {"DOCTYPE not allowed"};
    const char* kind = looks_truncated(doc, result, body) ? "truncated XML: " : "malformed XML: ";
    return {kind + std::string{result.description()} + " at byte " +
            std::to_string(result.offset) + " of " + std::to_string(body.size())};
}

// Parses `body` into `doc` and returns its single root element, or why not.
std::variant<pugi::xml_node, xml_problem> load(pugi::xml_document& doc, std::string_view body) {
    if (body.size() > max_xml_bytes) {
        return xml_problem{"response body too large: " + std::to_string(body.size()) +
                           " bytes (limit " + std::to_string(max_xml_bytes) + ")"};
    }
    // parse_doctype so a DOCTYPE becomes a node we can see and refuse;
    // parse_ws_pcdata_single keeps a whitespace-only value (a key of " ").
    constexpr unsigned options =
        pugi::parse_default | pugi::parse_doctype | pugi::parse_ws_pcdata_single;
    const auto result = doc.load_buffer(body.data(), body.size(), options, pugi::encoding_auto);
    if (!result) return load_problem(doc, result, body);

    pugi::xml_node root;
    for (auto node : doc.children()) {
        if (node.type() == pugi::node_doctype) return xml_problem{"DOCTYPE not allowed"};
        if (node.type() != pugi::node_element) continue;
        // pugixml accepts several top-level elements; XML (and S3) has one.
        if (root) return xml_problem{"malformed XML: more than one root element"};
        root = node;
    }
    if (!root) return xml_problem{"not XML: no root element"};
    return root;
}

s3_error read_error(pugi::xml_node root) {
    return {text(root, "Code"), text(root, "Message"), text(root, "RequestId"),
            text(root, "Resource")};
}

// The skeleton shared by every response parser: size, well-formedness, DOCTYPE,
// an <Error> in place of the result, then the expected root, then `fill`.
template <class T, class Fill>
parsed<T> parse_root(std::string_view body, std::string_view expected_root, Fill fill) {
    pugi::xml_document doc;
    auto loaded = load(doc, body);
    if (auto* problem = std::get_if<xml_problem>(&loaded)) return std::move(*problem);
    const auto root = std::get<pugi::xml_node>(loaded);
    const auto name = local_name(root.name());

    if (name == "Error") {
        auto error = read_error(root);
        // Callers classify by the code; an <Error> without one on a 200 would
        // otherwise read as success.
        if (error.code.empty()) return xml_problem{"<Error> without <Code>"};
        return error;
    }
    if (name != expected_root) {
        return xml_problem{"unexpected root element <" + std::string{name} + ">, expected <" +
                           std::string{expected_root} + ">"};
    }
    T value{};
    if (auto problem = fill(root, value)) return std::move(*problem);
    return value;
}

// Unpacks a field result into `out`; returns the problem if it failed. Keeps the
// fill functions to one line per field.
template <class V>
std::optional<xml_problem> take(std::variant<V, xml_problem> field, V& out) {
    if (auto* problem = std::get_if<xml_problem>(&field)) return std::move(*problem);
    out = std::move(std::get<V>(field));
    return std::nullopt;
}

// --- per-document fill functions ------------------------------------------

std::optional<xml_problem> fill_initiate(pugi::xml_node root, initiate_result& out) {
    out.bucket = text(root, "Bucket");
    out.key = text(root, "Key");
    return take(required_text(root, "UploadId"), out.upload_id);
}

std::optional<xml_problem> fill_complete(pugi::xml_node root, complete_result& out) {
    out.location = text(root, "Location");
    out.bucket = text(root, "Bucket");
    out.key = text(root, "Key");
    out.checksum_crc32c = text(root, "ChecksumCRC32C");
    return take(required_text(root, "ETag"), out.etag);
}

std::optional<xml_problem> fill_part(pugi::xml_node node, part_info& out) {
    if (auto p = take(required_number<std::uint32_t>(node, "PartNumber", 1, max_part_number),
                      out.part_number)) {
        return p;
    }
    if (auto p = take(required_text(node, "ETag"), out.etag)) return p;
    if (auto p = take(required_number<std::uint64_t>(node, "Size"), out.size)) return p;
    out.last_modified = text(node, "LastModified");
    out.checksum_crc32c = text(node, "ChecksumCRC32C");
    return std::nullopt;
}

std::optional<xml_problem> fill_list_parts(pugi::xml_node root, list_parts_page& out) {
    const bool encoded = url_encoded(root);
    out.bucket = text(root, "Bucket");
    out.key = text(root, "Key");
    out.upload_id = text(root, "UploadId");
    if (auto p = decode_if(encoded, out.key, "Key")) return p;
    if (auto p = take(is_truncated(root), out.is_truncated)) return p;
    if (auto p = take(optional_number<std::uint32_t>(root, "MaxParts", 0), out.max_parts)) return p;
    // A truncated page without a usable marker would make the caller re-request
    // the same page forever, so the marker is required then.
    if (out.is_truncated) {
        if (auto p = take(required_number<std::uint32_t>(root, "NextPartNumberMarker", 1,
                                                         max_part_number),
                          out.next_part_number_marker)) {
            return p;
        }
    } else if (auto p = take(optional_number<std::uint32_t>(root, "NextPartNumberMarker", 0,
                                                            max_part_number),
                             out.next_part_number_marker)) {
        return p;
    }
    for (auto node : root.children()) {
        if (node.type() != pugi::node_element || local_name(node.name()) != "Part") continue;
        part_info part;
        if (auto p = fill_part(node, part)) return p;
        out.parts.push_back(std::move(part));
    }
    return std::nullopt;
}

std::optional<xml_problem> fill_upload(pugi::xml_node node, bool encoded, upload_info& out) {
    if (!child(node, "Key")) return missing("Upload", "Key");
    out.key = text(node, "Key");
    if (auto p = decode_if(encoded, out.key, "Key")) return p;
    if (auto p = take(required_text(node, "UploadId"), out.upload_id)) return p;
    out.initiated = text(node, "Initiated");
    return std::nullopt;
}

std::optional<xml_problem> fill_list_uploads(pugi::xml_node root, list_uploads_page& out) {
    const bool encoded = url_encoded(root);
    out.bucket = text(root, "Bucket");
    out.next_key_marker = text(root, "NextKeyMarker");
    out.next_upload_id_marker = text(root, "NextUploadIdMarker");
    if (auto p = decode_if(encoded, out.next_key_marker, "NextKeyMarker")) return p;
    if (auto p = take(is_truncated(root), out.is_truncated)) return p;
    // As with ListParts: truncated without a key marker cannot be continued.
    if (out.is_truncated && out.next_key_marker.empty()) {
        return missing("ListMultipartUploadsResult", "NextKeyMarker");
    }
    for (auto node : root.children()) {
        if (node.type() != pugi::node_element || local_name(node.name()) != "Upload") continue;
        upload_info upload;
        if (auto p = fill_upload(node, encoded, upload)) return p;
        out.uploads.push_back(std::move(upload));
    }
    return std::nullopt;
}

std::optional<xml_problem> fill_object(pugi::xml_node node, bool encoded, object_info& out) {
    // A key is never empty in S3, but " " is a key: presence, not emptiness, is required.
    if (!child(node, "Key")) return missing("Contents", "Key");
    out.key = text(node, "Key");
    if (out.key.empty()) return bad_value("Key", "", "a non-empty key");
    if (auto p = decode_if(encoded, out.key, "Key")) return p;
    if (auto p = take(required_number<std::uint64_t>(node, "Size"), out.size)) return p;
    out.etag = text(node, "ETag");
    out.last_modified = text(node, "LastModified");
    return std::nullopt;
}

std::optional<xml_problem> fill_list_objects(pugi::xml_node root, list_objects_page& out) {
    const bool encoded = url_encoded(root);
    out.bucket = text(root, "Name");
    // The token is opaque: S3 does not url-encode it, so it is sent back as is.
    out.next_continuation_token = text(root, "NextContinuationToken");
    if (auto p = take(is_truncated(root), out.is_truncated)) return p;
    // As with ListParts: truncated without a token cannot be continued.
    if (out.is_truncated && out.next_continuation_token.empty()) {
        return missing("ListBucketResult", "NextContinuationToken");
    }
    for (auto node : root.children()) {
        if (node.type() != pugi::node_element || local_name(node.name()) != "Contents") continue;
        object_info object;
        if (auto p = fill_object(node, encoded, object)) return p;
        out.objects.push_back(std::move(object));
    }
    return std::nullopt;
}

std::optional<xml_problem> fill_delete_result(pugi::xml_node root, delete_result& out) {
    for (auto node : root.children()) {
        if (node.type() != pugi::node_element) continue;
        auto name = local_name(node.name());
        if (name == "Deleted") {
            ++out.deleted;
        } else if (name == "Error") {
            if (!child(node, "Key")) return missing("Error", "Key");
            out.errors.push_back({text(node, "Key"), text(node, "Code"), text(node, "Message")});
        }
    }
    return std::nullopt;
}

void check_parts(const std::vector<completed_part>& parts) {
    if (parts.empty()) throw std::invalid_argument("complete_body: no parts");
    std::uint32_t previous = 0;
    for (const auto& part : parts) {
        if (part.part_number == 0 || part.part_number > max_part_number) {
            throw std::invalid_argument("complete_body: part number " +
                                        std::to_string(part.part_number) + " out of 1..10000");
        }
        if (part.part_number <= previous) {
            throw std::invalid_argument("complete_body: part " + std::to_string(part.part_number) +
                                        " after part " + std::to_string(previous) +
                                        " (must be strictly ascending)");
        }
        if (part.etag.empty()) {
            throw std::invalid_argument("complete_body: part " + std::to_string(part.part_number) +
                                        " has no ETag");
        }
        previous = part.part_number;
    }
}

} // namespace

// --- public API ------------------------------------------------------------

std::optional<s3_error> parse_error(std::string_view body) {
    pugi::xml_document doc;
    auto loaded = load(doc, body);
    const auto* root = std::get_if<pugi::xml_node>(&loaded);
    if (!root || local_name(root->name()) != "Error") return std::nullopt;
    // An empty code is returned as is: on a non-2xx answer the status decides.
    return read_error(*root);
}

parsed<initiate_result> parse_initiate(std::string_view body) {
    return parse_root<initiate_result>(body, "InitiateMultipartUploadResult", fill_initiate);
}

parsed<complete_result> parse_complete(std::string_view body) {
    return parse_root<complete_result>(body, "CompleteMultipartUploadResult", fill_complete);
}

parsed<list_parts_page> parse_list_parts(std::string_view body) {
    return parse_root<list_parts_page>(body, "ListPartsResult", fill_list_parts);
}

parsed<list_uploads_page> parse_list_uploads(std::string_view body) {
    return parse_root<list_uploads_page>(body, "ListMultipartUploadsResult", fill_list_uploads);
}

parsed<list_objects_page> parse_list_objects(std::string_view body) {
    return parse_root<list_objects_page>(body, "ListBucketResult", fill_list_objects);
}

parsed<delete_result> parse_delete_result(std::string_view body) {
    return parse_root<delete_result>(body, "DeleteResult", fill_delete_result);
}

std::string delete_objects_body(const std::vector<std::string>& keys) {
    if (keys.empty() || keys.size() > 1000)
        throw std::invalid_argument("delete_objects_body: " + std::to_string(keys.size()) + " keys (1..1000)");
    std::string out = R"(<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>)";
    for (const auto& key : keys) {
        if (key.empty()) throw std::invalid_argument("delete_objects_body: an empty key");
        out += "<Object><Key>";
        out += xml_escape(key);
        out += "</Key></Object>";
    }
    out += "</Delete>";
    return out;
}

std::string complete_body(const std::vector<completed_part>& parts) {
    check_parts(parts);
    std::string out =
        R"(<CompleteMultipartUpload xmlns="http://s3.amazonaws.com/doc/2006-03-01/">)";
    for (const auto& part : parts) {
        out += "<Part><PartNumber>";
        out += std::to_string(part.part_number);
        out += "</PartNumber><ETag>";
        out += xml_escape(part.etag);
        out += "</ETag>";
        if (!part.checksum_crc32c.empty()) {
            out += "<ChecksumCRC32C>";
            out += xml_escape(part.checksum_crc32c);
            out += "</ChecksumCRC32C>";
        }
        out += "</Part>";
    }
    out += "</CompleteMultipartUpload>";
    return out;
}

std::string xml_escape(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (const char c : text) {
        switch (c) {
        case '&': out += "&amp;"; break;
        case '<': out += "&lt;"; break;
        case '>': out += "&gt;"; break;
        case '"': out += "&quot;"; break;
        case '\'': out += "&apos;"; break;
        default: out += c;
        }
    }
    return out;
}

} // namespace hoist::protocol
