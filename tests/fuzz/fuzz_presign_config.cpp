// The presign service's config file (protocol/presign/config.hpp): JSON with
// comments, every field checked.
//
// Input: the config text.
// Invariants beyond "no crash": only config_error escapes, worded
// "service config: ..."; a secret (token_secret, storage.secret_access_key)
// never appears in the message (checked by parsing the same document again
// with the secrets replaced by marker values and looking for the markers); an
// accepted config satisfies the limits the service relies on.
#include "fuzz_check.hpp"

#include "hoist/protocol/presign/config.hpp"

#include <boost/json.hpp>

#include <string>

namespace {

namespace p = hoist::protocol;
namespace json = boost::json;

// A value of the same length (so length rules take the same branch) that no
// input contains and no message is made of.
std::string marker(std::size_t length) {
    constexpr std::string_view cycle = "Zq7!Xj9?";
    std::string s;
    for (std::size_t i = 0; i < length; ++i) s += cycle[i % cycle.size()];
    return s;
}

bool replace_secret(json::object& o, std::string_view name) {
    json::value* v = o.if_contains(name);
    if (!v || !v->is_string() || v->get_string().size() < 8) return false;
    *v = marker(v->get_string().size());
    return true;
}

void check_secrets_stay_out(std::string_view text) {
    json::parse_options options;
    options.allow_comments = true;
    json::error_code ec;
    json::value doc = json::parse(text, ec, {}, options);
    if (ec || !doc.is_object()) return;
    // The fuzzer learns the marker from the comparison below and writes it into
    // other fields, where a message may echo it rightly: not a leak. Decoded
    // strings appear verbatim in serialize()'s output (the marker has nothing
    // it escapes).
    if (json::serialize(doc).find("Zq7!") != std::string::npos) return;
    bool any = replace_secret(doc.get_object(), "token_secret");
    if (json::value* storage = doc.get_object().if_contains("storage"); storage && storage->is_object())
        any = replace_secret(storage->get_object(), "secret_access_key") || any;
    if (!any) return;
    try {
        (void)p::parse_service_config(json::serialize(doc));
    } catch (const p::config_error& e) {
        const std::string_view message = e.what();
        HOIST_FUZZ_CHECK(message.find("Zq7!Xj9?") == std::string_view::npos);
    }
}

void check_accepted(const p::service_config& c) {
    HOIST_FUZZ_CHECK(c.token_secret.reveal().size() >= 32);
    HOIST_FUZZ_CHECK(!c.tokens.empty());
    for (const auto& t : c.tokens) HOIST_FUZZ_CHECK(!t.user.empty() && t.user.size() <= 64);
    HOIST_FUZZ_CHECK(c.presign_expiry.count() >= 1 && c.presign_expiry.count() <= 604800);
    HOIST_FUZZ_CHECK(c.url_batch >= 1 && c.url_batch <= 10000);
    HOIST_FUZZ_CHECK(c.max_file_size >= 1 && c.max_file_size <= p::max_object_size);
    HOIST_FUZZ_CHECK(c.max_body_bytes >= 1024 && c.max_body_bytes <= 64 * p::mib);
    HOIST_FUZZ_CHECK(c.upload_token_ttl.count() >= 1);
    HOIST_FUZZ_CHECK(!c.storage.region.empty() && !c.storage.ep.host.empty());
    HOIST_FUZZ_CHECK(c.storage.access_key_id.has_value() == c.storage.secret_access_key.has_value());
    HOIST_FUZZ_CHECK(p::configured_credentials(c.storage).has_value() == c.storage.access_key_id.has_value());
    HOIST_FUZZ_CHECK(!c.key_prefix.starts_with('/') && !c.key_prefix.ends_with('/'));
    for (const auto& ext : c.allowed_extensions) HOIST_FUZZ_CHECK(!ext.empty() && ext.front() != '.');
    for (const auto& origin : c.cors_origins) HOIST_FUZZ_CHECK(p::origin_allowed(c, origin));
    // The service presigns and plans with these; the parser promised they work.
    (void)p::locate(c.storage.ep, c.storage.bucket, "k", c.storage.style);
    (void)p::plan_parts(c.max_file_size, c.part_size);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(hoist::fuzz::as_text(data, size));
    try {
        try {
            check_accepted(p::parse_service_config(text));
        } catch (const p::config_error& e) {
            HOIST_FUZZ_CHECK(std::string_view(e.what()).starts_with("service config: "));
        }
        check_secrets_stay_out(text);
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        HOIST_FUZZ_CHECK(!"only config_error may escape parse_service_config");
    }
    return 0;
}
