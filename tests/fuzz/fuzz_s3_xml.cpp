// The S3 XML response parsers (protocol/s3/xml.hpp): every byte a server (or
// anything between it and us) sends reaches one of them.
//
// Input: one selector byte (which parser), then the response body.
// Beyond "no crash, no leak, no UB" it checks what callers rely on: a parser
// never throws; an <Error> answer has a code and reads the same through
// parse_error; pages hold only what the parsers promise (part numbers in
// 1..10000, a truncated page always has its continuation); and the
// CompleteMultipartUpload body built from a ListParts page is well-formed XML
// that gives back the same part numbers, ETags and checksums.
#include "fuzz_check.hpp"

#include "hoist/protocol/s3/xml.hpp"

#include <pugixml.hpp>

#include <algorithm>
#include <map>
#include <string>
#include <variant>
#include <vector>

namespace {

using namespace hoist::protocol;

// xml_escape leaves no markup character and only its own five entities.
void check_escaped(std::string_view raw) {
    const std::string out = xml_escape(raw);
    HOIST_FUZZ_CHECK(out.find_first_of("<>\"'") == std::string::npos);
    for (std::size_t at = out.find('&'); at != std::string::npos; at = out.find('&', at + 1)) {
        const std::string_view rest = std::string_view(out).substr(at);
        HOIST_FUZZ_CHECK(rest.starts_with("&amp;") || rest.starts_with("&lt;") || rest.starts_with("&gt;") ||
                         rest.starts_with("&quot;") || rest.starts_with("&apos;"));
    }
}

template <class T>
void check_error_side(const parsed<T>& result, std::string_view body) {
    if (const auto* error = std::get_if<s3_error>(&result)) {
        HOIST_FUZZ_CHECK(!error->code.empty());
        const auto again = parse_error(body);
        HOIST_FUZZ_CHECK(again.has_value());
        HOIST_FUZZ_CHECK(again->code == error->code && again->message == error->message &&
                         again->request_id == error->request_id && again->resource == error->resource);
    }
    if (const auto* problem = std::get_if<xml_problem>(&result)) HOIST_FUZZ_CHECK(!problem->what.empty());
}

// complete_body(parts) read back with pugixml, as S3 would read it.
void check_complete_body(const std::vector<part_info>& listed) {
    std::map<std::uint32_t, const part_info*> by_number;  // ascending, one per number
    for (const auto& p : listed) by_number.emplace(p.part_number, &p);
    if (by_number.empty()) return;
    std::vector<completed_part> parts;
    for (const auto& [n, p] : by_number) parts.push_back({n, p->etag, p->checksum_crc32c});
    const std::string body = complete_body(parts);

    pugi::xml_document doc;
    const auto loaded = doc.load_buffer(body.data(), body.size(),
                                        pugi::parse_default | pugi::parse_ws_pcdata_single, pugi::encoding_utf8);
    HOIST_FUZZ_CHECK(loaded);
    std::size_t i = 0;
    for (auto node : doc.document_element().children("Part")) {
        HOIST_FUZZ_CHECK(i < parts.size());
        HOIST_FUZZ_CHECK(std::to_string(parts[i].part_number) == node.child_value("PartNumber"));
        HOIST_FUZZ_CHECK(parts[i].etag == node.child_value("ETag"));
        HOIST_FUZZ_CHECK(parts[i].checksum_crc32c == node.child_value("ChecksumCRC32C"));
        ++i;
    }
    HOIST_FUZZ_CHECK(i == parts.size());
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 1) return 0;
    const std::string_view body = hoist::fuzz::as_text(data + 1, size - 1);
    try {
        switch (data[0] % 6) {
        case 0: {
            if (const auto error = parse_error(body)) check_escaped(error->message);
            break;
        }
        case 1: {
            const auto r = parse_initiate(body);
            check_error_side(r, body);
            if (const auto* v = std::get_if<initiate_result>(&r)) HOIST_FUZZ_CHECK(!v->upload_id.empty());
            break;
        }
        case 2: {
            const auto r = parse_complete(body);
            check_error_side(r, body);
            if (const auto* v = std::get_if<complete_result>(&r)) HOIST_FUZZ_CHECK(!v->etag.empty());
            break;
        }
        case 3: {
            const auto r = parse_list_parts(body);
            check_error_side(r, body);
            if (const auto* v = std::get_if<list_parts_page>(&r)) {
                for (const auto& p : v->parts) {
                    HOIST_FUZZ_CHECK(p.part_number >= 1 && p.part_number <= 10000);
                    HOIST_FUZZ_CHECK(!p.etag.empty());
                }
                if (v->is_truncated)
                    HOIST_FUZZ_CHECK(v->next_part_number_marker >= 1 && v->next_part_number_marker <= 10000);
                check_complete_body(v->parts);
            }
            break;
        }
        case 4: {
            const auto r = parse_list_uploads(body);
            check_error_side(r, body);
            if (const auto* v = std::get_if<list_uploads_page>(&r)) {
                if (v->is_truncated) HOIST_FUZZ_CHECK(!v->next_key_marker.empty());
                for (const auto& u : v->uploads) {
                    HOIST_FUZZ_CHECK(!u.upload_id.empty());
                    check_escaped(u.key);
                }
            }
            break;
        }
        case 5: {
            const auto r = parse_list_objects(body);
            check_error_side(r, body);
            if (const auto* v = std::get_if<list_objects_page>(&r)) {
                if (v->is_truncated) HOIST_FUZZ_CHECK(!v->next_continuation_token.empty());
                for (const auto& o : v->objects) HOIST_FUZZ_CHECK(!o.key.empty());
            }
            break;
        }
        }
    } catch (...) {
        // The header promises the parsers never throw on bad input.
        HOIST_FUZZ_CHECK(!"a parser threw");
    }
    return 0;
}
