#include "hoist/sigv4/post_policy.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <ctime>

namespace hoist::sigv4 {
namespace {

namespace json = boost::json;

constexpr std::string_view filename_variable = "${filename}";

bool iequals(std::string_view a, std::string_view b) {
    return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
               return std::tolower(static_cast<unsigned char>(x)) == std::tolower(static_cast<unsigned char>(y));
           });
}

// RFC 9110 token characters: every POST field S3 turns into object metadata or
// a header must be a header name, and nothing else is a sensible field name.
bool is_token(std::string_view name) {
    static constexpr std::string_view extra = "!#$%&'*+-.^_`|~";
    return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || extra.find(c) != std::string_view::npos;
    });
}

// The fields presign_post writes itself; a caller's field of the same name
// would either be overwritten or make two conflicting conditions.
constexpr std::string_view reserved_fields[] = {
    "bucket", "key", "policy", "file", "x-amz-algorithm", "x-amz-credential",
    "x-amz-date", "x-amz-security-token", "x-amz-signature",
};

void require_field_name(std::string_view name, std::string_view what) {
    if (name.starts_with('$'))
        throw sigv4_error("sigv4: POST policy " + std::string(what) + " '" + std::string(name.substr(0, 60)) +
                          "': give the name without the '$' (the policy adds it)");
    if (!is_token(name))
        throw sigv4_error("sigv4: POST policy " + std::string(what) + " name '" + std::string(name.substr(0, 60)) +
                          "' is empty or not an HTTP token (letters, digits, !#$%&'*+-.^_`|~)");
}

void require_region(std::string_view region, std::string_view service) {
    if (region.empty()) throw sigv4_error("sigv4: the region is empty");
    if (service.empty()) throw sigv4_error("sigv4: the service is empty");
    auto bad = [](char c) { return c == '/' || std::isspace(static_cast<unsigned char>(c)); };
    if (std::any_of(region.begin(), region.end(), bad))
        throw sigv4_error("sigv4: the region contains '/' or whitespace");
}

void validate(const post_policy& p, std::string_view region) {
    require_region(region, "s3");
    if (p.bucket.empty()) throw sigv4_error("sigv4: POST policy without a bucket");
    if (p.key.empty()) throw sigv4_error("sigv4: POST policy without a key");
    if (p.expires.count() < 1 || p.expires > max_presign_expiry)
        throw sigv4_error("sigv4: POST policy expiry must be 1 to 604800 seconds (7 days), got " +
                          std::to_string(p.expires.count()));
    for (std::size_t i = 0; i < p.fields.size(); ++i) {
        const auto& name = p.fields[i].first;
        require_field_name(name, "field");
        for (auto r : reserved_fields)
            if (iequals(name, r))
                throw sigv4_error("sigv4: POST policy field '" + name + "' is set by the signer itself");
        for (std::size_t j = 0; j < i; ++j)
            if (iequals(name, p.fields[j].first))
                throw sigv4_error("sigv4: POST policy field '" + name + "' is given twice");
    }
    for (const auto& c : p.conditions) {
        if (c.type == post_condition::kind::content_length_range) {
            if (c.min > c.max)
                throw sigv4_error("sigv4: POST policy content-length-range has min " + std::to_string(c.min) +
                                  " > max " + std::to_string(c.max));
        } else {
            require_field_name(c.field, "condition field");
        }
    }
}

// "20240315T123456Z" + expires -> "2024-03-15T13:34:56Z" (whole seconds, as
// the SDK writes it; S3 reads ISO 8601 with or without milliseconds).
std::string expiration(const amz_date& date, std::chrono::seconds expires) {
    std::time_t t = std::chrono::system_clock::to_time_t(date.time_point() + expires);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[24];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

json::value to_json(const post_condition& c) {
    switch (c.type) {
    case post_condition::kind::equals: return json::array{"eq", "$" + c.field, c.value};
    case post_condition::kind::starts_with: return json::array{"starts-with", "$" + c.field, c.value};
    case post_condition::kind::content_length_range: return json::array{"content-length-range", c.min, c.max};
    }
    return nullptr;   // unreachable: every kind is handled above
}

json::value exact(std::string_view name, std::string_view value) {
    json::object o;
    o[name] = value;
    return o;
}

// Everything presign_post needs besides the signature.
struct built {
    std::vector<form_field> fields;   // before key, Policy, X-Amz-Signature
    std::string document;
};

built build(const credentials& creds, const post_policy& p, std::string_view region, const amz_date& date) {
    validate(p, region);
    built b;
    b.fields = p.fields;
    b.fields.emplace_back("bucket", p.bucket);
    b.fields.emplace_back("X-Amz-Algorithm", std::string(algorithm));
    b.fields.emplace_back("X-Amz-Credential", creds.access_key_id + "/" + credential_scope(date, region, "s3"));
    b.fields.emplace_back("X-Amz-Date", date.iso());
    if (!creds.session_token.empty()) b.fields.emplace_back("X-Amz-Security-Token", creds.session_token.reveal());

    std::vector<std::string> conditions;
    auto add = [&](const json::value& v) {
        std::string text = json::serialize(v);
        // An exact duplicate says nothing new; the SDK keeps one (a Set).
        if (std::find(conditions.begin(), conditions.end(), text) == conditions.end())
            conditions.push_back(std::move(text));
    };
    for (const auto& c : p.conditions) add(to_json(c));
    for (const auto& [name, value] : b.fields) add(exact(name, value));
    std::string_view key = p.key;
    if (key.ends_with(filename_variable))
        add(json::array{"starts-with", "$key", key.substr(0, key.size() - filename_variable.size())});
    else
        add(exact("key", key));

    b.document = "{\"expiration\":" + json::serialize(json::string(expiration(date, p.expires))) + ",\"conditions\":[";
    for (std::size_t i = 0; i < conditions.size(); ++i) {
        if (i) b.document += ',';
        b.document += conditions[i];
    }
    b.document += "]}";
    return b;
}

} // namespace

post_condition post_condition::equals(std::string field, std::string value) {
    return {kind::equals, std::move(field), std::move(value), 0, 0};
}

post_condition post_condition::starts_with(std::string field, std::string prefix) {
    return {kind::starts_with, std::move(field), std::move(prefix), 0, 0};
}

post_condition post_condition::content_length_range(std::uint64_t min, std::uint64_t max) {
    return {kind::content_length_range, {}, {}, min, max};
}

std::string post_policy_document(const credentials& creds, const post_policy& policy, std::string_view region,
                                 const amz_date& date) {
    return build(creds, policy, region, date).document;
}

std::string sign_post_policy(const signer& signer, std::string_view policy_base64, std::string_view region,
                             const amz_date& date, std::string_view service) {
    require_region(region, service);
    if (policy_base64.empty()) throw sigv4_error("sigv4: the POST policy to sign is empty");
    auto key = signer.signing_key(date, region, service);
    return hex(hmac_sha256(std::string_view(reinterpret_cast<const char*>(key.data()), key.size()), policy_base64));
}

post_form presign_post(const signer& signer, const post_policy& policy, std::string_view region,
                       const amz_date& date) {
    auto b = build(signer.creds(), policy, region, date);
    post_form form;
    form.policy_json = std::move(b.document);
    form.policy = base64_encode(reinterpret_cast<const std::uint8_t*>(form.policy_json.data()), form.policy_json.size());
    form.signature = sign_post_policy(signer, form.policy, region, date);
    form.fields = std::move(b.fields);
    form.fields.emplace_back("key", policy.key);
    form.fields.emplace_back("Policy", form.policy);
    form.fields.emplace_back("X-Amz-Signature", form.signature);
    return form;
}

} // namespace hoist::sigv4
