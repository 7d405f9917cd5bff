// The pure part of `hoist serve`: config parsing, file-name sanitizing, keys,
// bearer and upload tokens, request parsing and validation, presigning, and a
// start-to-complete flow. The answers and the client's side of the wire are in
// presign_wire_test.cpp, the part proxy's target in presign_proxy_route_test.cpp.
#include "hoist/protocol/presign/auth.hpp"
#include "hoist/protocol/presign/browser_routes.hpp"   // api_code::forbidden_key
#include "hoist/protocol/presign/config.hpp"
#include "hoist/protocol/presign/names.hpp"
#include "hoist/protocol/presign/presigning.hpp"
#include "hoist/protocol/presign/wire.hpp"

#include "hoist/protocol/s3/requests.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

namespace p = hoist::protocol;
namespace sv4 = hoist::sigv4;
namespace json = boost::json;
using namespace std::chrono_literals;

namespace {

const std::string secret32 = "0123456789abcdef0123456789abcdef";
const std::string storage_secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const std::string alice_token = "alice-token";
const std::string bob_token = "bob-token";

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

json::object base_config() {
    return json::object{
        {"listen", "127.0.0.1:8080"},
        {"storage", json::object{{"endpoint", "https://127.0.0.1:9000"},
                                 {"region", "us-east-1"},
                                 {"bucket", "upload-bucket"},
                                 {"access_key_id", "AKIAIOSFODNN7EXAMPLE"},
                                 {"secret_access_key", storage_secret}}},
        {"token_secret", secret32},
        {"tokens", json::array{json::object{{"sha256", sv4::sha256_hex(alice_token)}, {"user", "alice"}},
                               json::object{{"sha256", sv4::sha256_hex(bob_token)}, {"user", "bob"}}}},
    };
}

p::service_config config_from(const json::object& o) { return p::parse_service_config(json::serialize(o)); }

p::service_config default_config() { return config_from(base_config()); }

json::object& storage_of(json::object& o) { return o["storage"].as_object(); }

// The config with `edit` applied must be refused with a message naming
// `field` (and containing `also`), and never a secret. Returns the message.
std::string expect_config_error(const std::function<void(json::object&)>& edit, const std::string& field,
                                const std::string& also = "") {
    json::object o = base_config();
    edit(o);
    std::string what;
    BOOST_TEST_CONTEXT("config " << json::serialize(o) << ", field " << field) {
        try {
            config_from(o);
            BOOST_ERROR("no config_error");
        } catch (const p::config_error& e) {
            what = e.what();
            BOOST_TEST(contains(what, "service config: " + field + ":"), what);
            if (!also.empty()) BOOST_TEST(contains(what, also), what);
            BOOST_TEST(!contains(what, secret32.substr(1)), what);
            BOOST_TEST(!contains(what, storage_secret), what);
        }
    }
    return what;
}

p::api_error expect_api_error(const std::function<void()>& call, int status, std::string_view code) {
    try {
        call();
    } catch (const p::api_error& e) {
        BOOST_TEST(e.status == status, e.message);
        BOOST_TEST(e.code == std::string(code), e.message);
        BOOST_TEST(std::string(e.what()) == e.message);
        return e;
    }
    BOOST_ERROR("no api_error");
    return p::api_error(0, "", "");
}

p::api_error expect_request_error(const std::string& body, std::string_view code, const p::service_config& cfg,
                                  int status = 400) {
    p::api_error e(0, "", "");
    BOOST_TEST_CONTEXT("body " << body.substr(0, 300)) {
        e = expect_api_error([&] { p::parse_api_request(body, cfg); }, status, code);
    }
    return e;
}

p::api_error expect_request_error(const json::object& body, std::string_view code, const p::service_config& cfg,
                                  int status = 400) {
    return expect_request_error(json::serialize(body), code, cfg, status);
}

template <class T>
T parse_as(const json::object& body, const p::service_config& cfg) {
    p::api_request r = p::parse_api_request(json::serialize(body), cfg);
    BOOST_TEST_REQUIRE(std::holds_alternative<T>(r));
    return std::get<T>(std::move(r));
}

json::object upload_body(std::string action) {
    return json::object{{"action", action},
                        {"uploadId", "UPLOAD-ID-1"},
                        {"s3Key", "uploads/alice/alice_1700000000123_model.safetensors"},
                        {"uploadToken", "v1.1.token"}};
}

sv4::signer test_signer() {
    sv4::credentials c;
    c.access_key_id = "AKIAIOSFODNN7EXAMPLE";
    c.secret_access_key = sv4::secret_string(storage_secret);
    return sv4::signer(std::move(c));
}

} // namespace

BOOST_AUTO_TEST_SUITE(presign_api)

// ---- configuration ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(minimal_config_gets_the_documented_defaults) {
    json::object o = base_config();
    o.erase("listen");
    auto c = config_from(o);
    BOOST_TEST(c.listen.host == "127.0.0.1");
    BOOST_TEST(c.listen.port == 8080);
    BOOST_TEST(!c.tls);
    BOOST_TEST(c.storage.ep.host == "127.0.0.1");
    BOOST_TEST(c.storage.ep.port == 9000);
    BOOST_TEST(c.storage.region == "us-east-1");
    BOOST_TEST(c.storage.bucket == "upload-bucket");
    BOOST_TEST((c.storage.style == p::addressing::automatic));
    BOOST_TEST(!c.storage.ca_bundle);
    BOOST_TEST(c.token_secret.reveal() == secret32);
    BOOST_TEST_REQUIRE(c.tokens.size() == 2u);
    BOOST_TEST((c.tokens[0].sha256 == sv4::sha256(alice_token)));
    BOOST_TEST(c.tokens[0].user == "alice");
    BOOST_TEST(c.tokens[1].user == "bob");
    BOOST_TEST(c.key_prefix == "uploads");
    BOOST_TEST(c.allowed_extensions.empty());
    BOOST_TEST(c.max_file_size == 5ull * 1024 * p::gib);
    BOOST_TEST(c.presign_expiry.count() == 3600);
    BOOST_TEST(c.part_size == 8 * p::mib);
    BOOST_TEST(c.url_batch == 100u);
    BOOST_TEST(c.single_put_max == 8 * p::mib);
    BOOST_TEST(c.cors_origins.empty());
    BOOST_TEST(c.max_body_bytes == p::mib);
    BOOST_TEST(c.upload_token_ttl.count() == 7 * 24 * 3600);

    auto creds = p::configured_credentials(c.storage);
    BOOST_TEST_REQUIRE(creds.has_value());
    BOOST_TEST(creds->access_key_id == "AKIAIOSFODNN7EXAMPLE");
    BOOST_TEST(creds->secret_access_key.reveal() == storage_secret);

    // Without keys and endpoint: AWS credentials from the environment, the AWS endpoint.
    storage_of(o).erase("access_key_id");
    storage_of(o).erase("secret_access_key");
    storage_of(o).erase("endpoint");
    auto aws = config_from(o);
    BOOST_TEST(!p::configured_credentials(aws.storage));
    BOOST_TEST(aws.storage.ep.host == "s3.us-east-1.amazonaws.com");
    BOOST_TEST(aws.storage.ep.is_aws);
}

BOOST_AUTO_TEST_CASE(full_config_with_comments_parses) {
    json::object o = base_config();
    o["listen"] = "[::1]:0";
    o["tls"] = json::object{{"cert", "/etc/hoist/cert.pem"}, {"key", "/etc/hoist/key.pem"}};
    storage_of(o)["path_style"] = true;
    storage_of(o)["ca_bundle"] = "/etc/ssl/ca.pem";
    o["key_prefix"] = "team/uploads";
    o["allowed_extensions"] = json::array{".SafeTensors", "tar.gz", "bin"};
    o["max_file_size"] = p::max_object_size;
    o["presign_expiry"] = 604800;
    o["part_size"] = 5 * p::mib;
    o["url_batch"] = 10000;
    o["single_put_max"] = 0;
    o["cors_origins"] = json::array{"https://app.example.com", "http://localhost:3000", "http://[::1]:8080"};
    o["max_body_bytes"] = 1024;
    o["upload_token_ttl"] = 60;
    const std::string text = "// the service's config\n" + json::serialize(o) + "\n/* end */\n";
    auto c = p::parse_service_config(text);
    BOOST_TEST(c.listen.host == "::1");
    BOOST_TEST(c.listen.port == 0);
    BOOST_TEST_REQUIRE(c.tls.has_value());
    BOOST_TEST(c.tls->cert == "/etc/hoist/cert.pem");
    BOOST_TEST(c.tls->key == "/etc/hoist/key.pem");
    BOOST_TEST((c.storage.style == p::addressing::path));
    BOOST_TEST(*c.storage.ca_bundle == "/etc/ssl/ca.pem");
    BOOST_TEST(c.key_prefix == "team/uploads");
    BOOST_TEST((c.allowed_extensions == std::vector<std::string>{"safetensors", "tar.gz", "bin"}));
    BOOST_TEST(c.max_file_size == p::max_object_size);
    BOOST_TEST(c.presign_expiry.count() == 604800);
    BOOST_TEST(c.part_size == 5 * p::mib);
    BOOST_TEST(c.url_batch == 10000u);
    BOOST_TEST(c.single_put_max == 0u);
    BOOST_TEST(c.cors_origins.size() == 3u);
    BOOST_TEST(c.max_body_bytes == 1024u);
    BOOST_TEST(c.upload_token_ttl.count() == 60);

    BOOST_TEST(p::origin_allowed(c, "https://app.example.com"));
    BOOST_TEST(p::origin_allowed(c, "http://[::1]:8080"));
    BOOST_TEST(!p::origin_allowed(c, "https://app.example.com/"));
    BOOST_TEST(!p::origin_allowed(c, "https://APP.example.com"));
    BOOST_TEST(!p::origin_allowed(c, "https://evil.example.com"));
    BOOST_TEST(!p::origin_allowed(c, ""));

    storage_of(o)["path_style"] = false;  // explicit virtual-hosted addressing
    o["key_prefix"] = "";
    auto v = config_from(o);
    BOOST_TEST((v.storage.style == p::addressing::virtual_host));
    BOOST_TEST(v.key_prefix.empty());

    json::object hostname = base_config();
    hostname["listen"] = "localhost:443";
    BOOST_TEST(config_from(hostname).listen.host == "localhost");
    BOOST_TEST(config_from(hostname).listen.port == 443);
}

BOOST_AUTO_TEST_CASE(json_and_shape_errors) {
    BOOST_CHECK_EXCEPTION(p::parse_service_config("{\n\"listen\": \n}"), p::config_error, [](const auto& e) {
        return contains(e.what(), "not valid JSON (line 3)");
    });
    BOOST_CHECK_EXCEPTION(p::parse_service_config(""), p::config_error,
                          [](const auto& e) { return contains(e.what(), "not valid JSON"); });
    BOOST_CHECK_EXCEPTION(p::parse_service_config("[]"), p::config_error,
                          [](const auto& e) { return contains(e.what(), "must be a JSON object"); });
    BOOST_CHECK_EXCEPTION(p::parse_service_config("{} {}"), p::config_error,
                          [](const auto& e) { return contains(e.what(), "not valid JSON"); });
}

BOOST_AUTO_TEST_CASE(unknown_fields_are_errors_at_every_level) {
    expect_config_error([](auto& o) { o["bukcet"] = "x"; }, "bukcet", "unknown field");
    expect_config_error([](auto& o) { storage_of(o)["bucekt"] = "x"; }, "storage.bucekt", "unknown field");
    expect_config_error([](auto& o) { o["tls"] = json::object{{"cert", "c"}, {"key", "k"}, {"chain", "x"}}; },
                        "tls.chain", "unknown field");
    expect_config_error([](auto& o) { o["tokens"].as_array()[1].as_object()["hash"] = "x"; }, "tokens[1].hash",
                        "unknown field");
    // The message lists the known names, so the typo is easy to fix.
    expect_config_error([](auto& o) { o["part-size"] = 1; }, "part-size", "part_size");
}

BOOST_AUTO_TEST_CASE(listen_errors) {
    for (const char* bad : {"", "8080", "localhost", "::1:8080", "[::1]", "[::1]8080", "[::1:8080", "host:99999",
                            "host:", ":8080", "[zz]:80", "[]:80", "host:80x", "host:-1", "ho st:80", "host:123456"}) {
        expect_config_error([&](auto& o) { o["listen"] = bad; }, "listen");
    }
    expect_config_error([](auto& o) { o["listen"] = 8080; }, "listen", "must be a string");
    expect_config_error([](auto& o) { o["listen"] = "::1:8080"; }, "listen", "brackets");
}

BOOST_AUTO_TEST_CASE(tls_and_storage_errors) {
    expect_config_error([](auto& o) { o["tls"] = json::object{{"cert", "c"}}; }, "tls.key", "required");
    expect_config_error([](auto& o) { o["tls"] = json::object{{"cert", ""}, {"key", "k"}}; }, "tls.cert", "empty");
    expect_config_error([](auto& o) { o["tls"] = "yes"; }, "tls", "must be an object");

    expect_config_error([](auto& o) { o.erase("storage"); }, "storage", "required");
    expect_config_error([](auto& o) { storage_of(o).erase("region"); }, "storage.region", "required");
    expect_config_error([](auto& o) { storage_of(o)["region"] = "US East"; }, "storage.region");
    expect_config_error([](auto& o) { storage_of(o)["region"] = 1; }, "storage.region", "must be a string");
    expect_config_error([](auto& o) { storage_of(o)["endpoint"] = "ftp://h"; }, "storage.endpoint", "https or http");
    expect_config_error([](auto& o) { storage_of(o)["endpoint"] = "https://h/path"; }, "storage.endpoint");
    expect_config_error([](auto& o) { storage_of(o).erase("bucket"); }, "storage.bucket", "required");
    expect_config_error([](auto& o) { storage_of(o)["bucket"] = "ab"; }, "storage.bucket", "invalid bucket name");
    expect_config_error([](auto& o) { storage_of(o)["bucket"] = "bu$ket"; }, "storage.bucket");
    expect_config_error([](auto& o) { storage_of(o)["path_style"] = "yes"; }, "storage.path_style", "true or false");
    expect_config_error(
        [](auto& o) {
            storage_of(o).erase("endpoint");
            storage_of(o)["bucket"] = "my.dotted.bucket";
            storage_of(o)["path_style"] = false;
        },
        "storage.path_style");
    expect_config_error([](auto& o) { storage_of(o).erase("secret_access_key"); }, "storage.secret_access_key",
                        "both, or neither");
    expect_config_error([](auto& o) { storage_of(o).erase("access_key_id"); }, "storage.access_key_id",
                        "both, or neither");
    expect_config_error([](auto& o) { storage_of(o)["secret_access_key"] = ""; }, "storage.secret_access_key");
    expect_config_error([](auto& o) { storage_of(o)["access_key_id"] = ""; }, "storage.access_key_id");
    expect_config_error([](auto& o) { storage_of(o)["ca_bundle"] = ""; }, "storage.ca_bundle");
}

BOOST_AUTO_TEST_CASE(token_errors) {
    expect_config_error([](auto& o) { o.erase("token_secret"); }, "token_secret", "required");
    expect_config_error([](auto& o) { o["token_secret"] = secret32.substr(1); }, "token_secret", "at least 32 bytes");
    expect_config_error([](auto& o) { o["token_secret"] = 12; }, "token_secret", "must be a string");

    expect_config_error([](auto& o) { o.erase("tokens"); }, "tokens", "required");
    expect_config_error([](auto& o) { o["tokens"] = json::array{}; }, "tokens", "at least one");
    expect_config_error([](auto& o) { o["tokens"] = "x"; }, "tokens", "must be an array");
    expect_config_error([](auto& o) { o["tokens"].as_array()[0] = "x"; }, "tokens[0]", "must be an object");
    expect_config_error([](auto& o) { o["tokens"].as_array()[0].as_object().erase("sha256"); }, "tokens[0].sha256",
                        "required");
    expect_config_error([](auto& o) { o["tokens"].as_array()[0].as_object()["sha256"] = std::string(63, 'a'); },
                        "tokens[0].sha256", "64 hex digits");
    expect_config_error([](auto& o) { o["tokens"].as_array()[0].as_object()["sha256"] = std::string(64, 'g'); },
                        "tokens[0].sha256", "64 hex digits");
    // A raw token pasted by mistake is refused, and not echoed.
    const std::string raw = "my-precious-raw-token";
    const std::string m =
        expect_config_error([&](auto& o) { o["tokens"].as_array()[0].as_object()["sha256"] = raw; }, "tokens[0].sha256");
    BOOST_TEST(!contains(m, raw));
    expect_config_error([](auto& o) { o["tokens"].as_array()[1].as_object()["sha256"] = sv4::sha256_hex(alice_token); },
                        "tokens[1].sha256", "tokens[0]");
    // Upper-case hex is the same hash, so still a duplicate.
    expect_config_error(
        [](auto& o) {
            std::string upper = sv4::sha256_hex(alice_token);
            for (char& ch : upper) ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
            o["tokens"].as_array()[1].as_object()["sha256"] = upper;
        },
        "tokens[1].sha256", "already given");
    expect_config_error([](auto& o) { o["tokens"].as_array()[1].as_object().erase("user"); }, "tokens[1].user",
                        "required");
    for (const std::string& bad : std::vector<std::string>{"al ice", "alice/x", "al.ice", std::string(65, 'u'), std::string("\xc3\xa9")})
        expect_config_error([&](auto& o) { o["tokens"].as_array()[1].as_object()["user"] = bad; }, "tokens[1].user");
    // The same user with two tokens (rotation) is fine.
    json::object o = base_config();
    o["tokens"].as_array()[1].as_object()["user"] = "alice";
    BOOST_TEST(config_from(o).tokens.size() == 2u);
    // 64 'u's at most.
    o["tokens"].as_array()[1].as_object()["user"] = std::string(64, 'u');
    BOOST_TEST(config_from(o).tokens[1].user.size() == 64u);
}

BOOST_AUTO_TEST_CASE(prefix_extension_and_origin_errors) {
    for (const char* bad : {"/uploads", "uploads/", "a//b", "a/../b", "./a", "a b", "a\\b", "/"})
        expect_config_error([&](auto& o) { o["key_prefix"] = bad; }, "key_prefix");
    expect_config_error([](auto& o) { o["key_prefix"] = std::string(513, 'p'); }, "key_prefix", "512");

    expect_config_error([](auto& o) { o["allowed_extensions"] = "bin"; }, "allowed_extensions", "must be an array");
    expect_config_error([](auto& o) { o["allowed_extensions"] = json::array{"bin", 5}; }, "allowed_extensions[1]",
                        "must be a string");
    for (const char* bad : {"", ".", "a..b", "bin.", "b n", "..bin", "a/b"})
        expect_config_error([&](auto& o) { o["allowed_extensions"] = json::array{bad}; }, "allowed_extensions[0]");

    for (const char* bad : {"*", "https://app.example.com/", "HTTPS://App.example.com", "https://app.example.com:443",
                            "app.example.com", "https://app.example.com/path", "ftp://app.example.com"})
        expect_config_error([&](auto& o) { o["cors_origins"] = json::array{"https://ok.example.com", bad}; },
                            "cors_origins[1]");
    expect_config_error([](auto& o) { o["cors_origins"] = json::array{"HTTPS://App.example.com"}; }, "cors_origins[0]",
                        "https://app.example.com");
}

BOOST_AUTO_TEST_CASE(api_path_is_configurable_and_checked) {
    BOOST_TEST(default_config().api_path == "/v1/presigned-upload");
    for (const char* good : {"/api/upload", "/upload", "/v2/presigned-upload", "/a.b/c_d/e-f/~g", "/s3x", "/assetsx/y",
                             "/v1/sessions"}) {
        BOOST_TEST_CONTEXT(good) {
            json::object o = base_config();
            o["api_path"] = good;
            BOOST_TEST(config_from(o).api_path == good);
            BOOST_TEST(!p::api_path_error(good));
        }
    }
    const std::pair<std::string, std::string> bad[] = {
        {"api/upload", "must start with '/'"},
        {"", "must start with '/'"},
        {"/", "1 to 255"},
        {"/" + std::string(256, 'a'), "1 to 255"},
        {"/api/upload?x=1", "without a query"},
        {"/api/upload#top", "fragment"},
        {"/api/../upload", "'..'"},
        {"/api/./upload", "'.'"},
        {"/..", "'..'"},
        {"/api//upload", "'//'"},
        {"/api/upload/", "end with '/'"},
        {"/api/up%20load", "no percent-encoding"},
        {"/api/up load", "A-Z a-z"},
        {"/api/Ã©", "A-Z a-z"},
        {"/healthz", "taken by another route"},
        {"/metrics", "taken by another route"},
        {"/v1/session", "taken by another route"},
        {"/v1/sign-request", "taken by another route"},
        {"/v1/uploads/x/parts/1", "/v1/uploads/..."},
        {"/v1/uploads", "/v1/uploads/..."},
        {"/s3/multipart", "taken by another route of the service (/s3/multipart)"},   // the browser routes' table
        {"/s3", "/s3/..."},
        {"/assets/app.js", "/assets/..."},
    };
    for (const auto& [path, says] : bad) {
        BOOST_TEST_CONTEXT(path) {
            auto why = p::api_path_error(path);
            BOOST_TEST_REQUIRE(why.has_value());
            BOOST_TEST(contains(*why, says), *why);
            expect_config_error([&](auto& o) { o["api_path"] = path; }, "api_path", says);
        }
    }
    expect_config_error([](auto& o) { o["api_path"] = 5; }, "api_path", "must be a string");
}

BOOST_AUTO_TEST_CASE(number_field_errors) {
    struct bad_number {
        const char* field;
        json::value value;
    };
    const std::vector<bad_number> cases = {
        {"max_file_size", 0},
        {"max_file_size", p::max_object_size + 1},
        {"max_file_size", -1},
        {"max_file_size", 1.5},
        {"max_file_size", "5TiB"},
        {"presign_expiry", 0},
        {"presign_expiry", 604801},
        {"part_size", p::mib},
        {"part_size", 5 * p::mib - 1},
        {"part_size", 6 * p::gib},
        {"part_size", true},
        {"url_batch", 0},
        {"url_batch", 10001},
        {"single_put_max", 5 * p::gib + 1},
        {"single_put_max", -5},
        {"max_body_bytes", 1023},
        {"max_body_bytes", 64 * p::mib + 1},
        {"upload_token_ttl", 0},
        {"upload_token_ttl", 365 * 24 * 3600 + 1},
    };
    for (const auto& c : cases) expect_config_error([&](auto& o) { o[c.field] = c.value; }, c.field);
    expect_config_error([](auto& o) { o["part_size"] = p::mib; }, "part_size", "5 MiB");
    expect_config_error([](auto& o) { o["url_batch"] = 0; }, "url_batch", "from 1 to 10000");
    expect_config_error([](auto& o) { o["presign_expiry"] = "1h"; }, "presign_expiry", "not a string");

    // The limits themselves are accepted.
    json::object o = base_config();
    o["single_put_max"] = 5 * p::gib;
    o["max_body_bytes"] = 64 * p::mib;
    o["upload_token_ttl"] = 365 * 24 * 3600;
    o["presign_expiry"] = 1;
    o["max_file_size"] = 1;
    o["part_size"] = 5 * p::gib;
    BOOST_CHECK_NO_THROW(config_from(o));
    // null counts as absent: the default.
    o["url_batch"] = nullptr;
    BOOST_TEST(config_from(o).url_batch == 100u);
}

// ---- file names -------------------------------------------------------------

BOOST_AUTO_TEST_CASE(file_names_are_sanitized) {
    BOOST_TEST(p::sanitize_file_name("model.safetensors") == "model.safetensors");
    BOOST_TEST(p::sanitize_file_name("my model (1).bin") == "my_model__1_.bin");
    BOOST_TEST(p::sanitize_file_name("a+b=c&d?e#f%g:h*i\"j<k>l|m'n") == "a_b_c_d_e_f_g_h_i_j_k_l_m_n");
    BOOST_TEST(p::sanitize_file_name("Run_01-final.tar.gz") == "Run_01-final.tar.gz");
    BOOST_TEST(p::sanitize_file_name(".hidden") == ".hidden");
    BOOST_TEST(p::sanitize_file_name("r\xc3\xa9sum\xc3\xa9.pdf") == "r\xc3\xa9sum\xc3\xa9.pdf");  // résumé.pdf
    BOOST_TEST(p::sanitize_file_name("\xe6\x97\xa5\xe6\x9c\xac.txt") == "\xe6\x97\xa5\xe6\x9c\xac.txt");  // 日本.txt
    BOOST_TEST(p::sanitize_file_name("\xf0\x9f\x98\x80.png") == "\xf0\x9f\x98\x80.png");  // U+1F600, 4 bytes
    // Right-to-left override (U+202E): "a<RLO>fdp.exe" would display as "aexe.pdf".
    BOOST_TEST(p::sanitize_file_name("a\xe2\x80\xae" "fdp.exe") == "a_fdp.exe");
    BOOST_TEST(p::sanitize_file_name("a\xe2\x80\x8b" "b") == "a_b");     // zero-width space
    BOOST_TEST(p::sanitize_file_name("\xef\xbb\xbf" "a.txt") == "_a.txt"); // BOM
    BOOST_TEST(p::sanitize_file_name(std::string(255, 'a')) == std::string(255, 'a'));
}

BOOST_AUTO_TEST_CASE(bad_file_names_are_refused) {
    const std::vector<std::pair<std::string, std::string>> cases = {
        {"", "empty"},
        {std::string(256, 'a'), "255 bytes"},
        {"a/b", "'/'"},
        {"/etc/passwd", "'/'"},
        {"a\\b", "'/'"},
        {"..", "'..'"},
        {"a..b", "'..'"},
        {"../x", "'/'"},
        {".", "only dots"},
        {std::string("a\nb"), "control"},
        {std::string("a\rb"), "control"},
        {std::string("a\tb"), "control"},
        {std::string("a\0b", 3), "control"},
        {std::string("a\x7f"), "control"},
        {std::string("a\xc2\x85"), "control"},                 // U+0085 NEL, a C1 control
        {std::string("a\xc3"), "UTF-8"},                       // truncated
        {std::string("a\xc0\xaf"), "UTF-8"},                   // overlong '/'
        {std::string("a\xe0\x80\xaf"), "UTF-8"},               // overlong, 3 bytes
        {std::string("a\xf0\x80\x80\xaf"), "UTF-8"},           // overlong, 4 bytes
        {std::string("a\xed\xa0\x80"), "UTF-8"},               // surrogate U+D800
        {std::string("a\xf4\x90\x80\x80"), "UTF-8"},           // above U+10FFFF
        {std::string("a\xff"), "UTF-8"},
        {std::string("a\x80"), "UTF-8"},                       // lone continuation byte
        {std::string("a\xe6\x97"), "UTF-8"},                   // truncated 3-byte sequence
    };
    for (const auto& [name, why] : cases) {
        BOOST_TEST_CONTEXT("name of " << name.size() << " bytes, expecting " << why) {
            auto e = expect_api_error([&] { p::sanitize_file_name(name); }, 400, p::api_code::invalid_file_name);
            BOOST_TEST(contains(e.message, why), e.message);
        }
    }
}

BOOST_AUTO_TEST_CASE(extension_allow_list) {
    const std::vector<std::string> none;
    BOOST_TEST(p::extension_allowed("anything.exe", none));
    BOOST_TEST(p::extension_allowed("noext", none));
    const std::vector<std::string> list = {"safetensors", "tar.gz"};
    BOOST_TEST(p::extension_allowed("model.safetensors", list));
    BOOST_TEST(p::extension_allowed("MODEL.SafeTensors", list));
    BOOST_TEST(p::extension_allowed("data.TAR.GZ", list));
    BOOST_TEST(!p::extension_allowed("data.gz", list));
    BOOST_TEST(!p::extension_allowed(".safetensors", list));
    BOOST_TEST(!p::extension_allowed("safetensors", list));
    BOOST_TEST(!p::extension_allowed("model.safetensorsx", list));
    BOOST_TEST(!p::extension_allowed("model_safetensors", list));
    BOOST_TEST(!p::extension_allowed("model.exe", list));

    json::object o = base_config();
    o["allowed_extensions"] = json::array{".safetensors", "BIN"};
    auto cfg = config_from(o);
    BOOST_CHECK_NO_THROW(p::check_extension("m.bin", cfg));
    auto e = expect_api_error([&] { p::check_extension("m.exe", cfg); }, 400, p::api_code::extension_not_allowed);
    BOOST_TEST(contains(e.message, ".safetensors, .bin"), e.message);
    BOOST_CHECK_NO_THROW(p::check_extension("m.exe", default_config()));
}

BOOST_AUTO_TEST_CASE(object_keys) {
    BOOST_TEST(p::unique_file_name("alice", 1700000000123, "model.safetensors") ==
               "alice_1700000000123_model.safetensors");
    BOOST_TEST(p::make_object_key("uploads", "alice", 1700000000123, "model.safetensors") ==
               "uploads/alice/alice_1700000000123_model.safetensors");
    BOOST_TEST(p::make_object_key("team/in", "bob", 5, "x.bin") == "team/in/bob/bob_5_x.bin");
    BOOST_TEST(p::make_object_key("", "bob", 5, "x.bin") == "bob/bob_5_x.bin");
    BOOST_TEST(p::key_file_name("uploads/alice/alice_1_m.bin") == "alice_1_m.bin");
    BOOST_TEST(p::key_file_name("plain") == "plain");
}

// ---- bearer tokens ----------------------------------------------------------

BOOST_AUTO_TEST_CASE(bearer_tokens_map_to_users) {
    auto cfg = default_config();
    BOOST_TEST(p::user_for_bearer(cfg, "Bearer alice-token").value_or("-") == "alice");
    BOOST_TEST(p::user_for_bearer(cfg, "Bearer bob-token").value_or("-") == "bob");
    BOOST_TEST(p::user_for_bearer(cfg, "bearer bob-token").value_or("-") == "bob");
    BOOST_TEST(p::user_for_bearer(cfg, "  BEARER   alice-token \t").value_or("-") == "alice");

    for (const std::string& bad : std::vector<std::string>{"", "Bearer", "Bearer ", "Bearer  ", "Basic YWxpY2U6cHc=", "Bearer unknown",
                            "Bearer alice-token extra", "Bearer alice=token", "Bearertoken", "alice-token",
                            "Bearer alice-token\n", "Bearer ALICE-TOKEN", "Bearer alice-toke",
                            "Bearer =", "Bearer " + sv4::sha256_hex(alice_token), "Bearer " + std::string(5000, 'a')}) {
        BOOST_TEST_CONTEXT("header '" << bad << "'") { BOOST_TEST(!p::user_for_bearer(cfg, bad)); }
    }

    // Trailing '=' padding belongs to the token (RFC 6750 b64token).
    p::service_config padded = cfg;
    padded.tokens.push_back({sv4::sha256("abc/+.~_-=="), "carol"});
    BOOST_TEST(p::user_for_bearer(padded, "Bearer abc/+.~_-==").value_or("-") == "carol");
    BOOST_TEST(!p::user_for_bearer(padded, "Bearer abc/+.~_-"));

    // Every entry is compared; with (impossible from a config) duplicates the first wins.
    p::service_config dup = cfg;
    dup.tokens = {{sv4::sha256("x"), "first"}, {sv4::sha256("y"), "other"}, {sv4::sha256("x"), "second"}};
    BOOST_TEST(p::user_for_bearer(dup, "Bearer x").value_or("-") == "first");
    BOOST_TEST(p::user_for_bearer(dup, "Bearer y").value_or("-") == "other");
    p::service_config empty = cfg;
    empty.tokens.clear();
    BOOST_TEST(!p::user_for_bearer(empty, "Bearer alice-token"));

    auto e = p::unauthorized_error();
    BOOST_TEST(e.status == 401);
    BOOST_TEST(e.code == "unauthorized");
}

// ---- upload tokens ----------------------------------------------------------

namespace {
const sv4::secret_string token_secret(secret32);
const std::string t_user = "alice";
const std::string t_key = "uploads/alice/alice_1700000000123_model.safetensors";
const std::string t_id = "UPLOAD-ID-1";
constexpr std::int64_t t_expiry = 1700604800;
} // namespace

BOOST_AUTO_TEST_CASE(upload_token_known_answer) {
    // Python: base64.urlsafe_b64encode(hmac.new(secret, msg, sha256).digest()).rstrip(b'=')
    const std::string token = p::sign_upload_token(token_secret, t_user, t_key, t_id, t_expiry);
    BOOST_TEST(token == "v1.1700604800.fbi6EGX2rVVAj6ym_-Vw2zyAYJTQBMjAYYZJfDupjA8");
    BOOST_TEST((p::verify_upload_token(token_secret, token, t_user, t_key, t_id, t_expiry - 1) == p::token_status::ok));
    BOOST_TEST((p::verify_upload_token(token_secret, token, t_user, t_key, t_id, 0) == p::token_status::ok));
    BOOST_TEST(p::to_string(p::token_status::bad_signature) == "bad signature");
}

BOOST_AUTO_TEST_CASE(upload_tokens_expire) {
    const std::string token = p::sign_upload_token(token_secret, t_user, t_key, t_id, t_expiry);
    BOOST_TEST((p::verify_upload_token(token_secret, token, t_user, t_key, t_id, t_expiry) == p::token_status::expired));
    BOOST_TEST((p::verify_upload_token(token_secret, token, t_user, t_key, t_id, t_expiry + 86400) ==
                p::token_status::expired));
    // An expired token with a bad signature is a bad signature: the MAC is checked first.
    std::string forged = token;
    forged.back() = forged.back() == 'A' ? 'B' : 'A';
    BOOST_TEST((p::verify_upload_token(token_secret, forged, t_user, t_key, t_id, t_expiry + 1) ==
                p::token_status::bad_signature));
    // Expiry 0 is a valid (long expired) token.
    const std::string zero = p::sign_upload_token(token_secret, t_user, t_key, t_id, 0);
    BOOST_TEST(zero.starts_with("v1.0."));
    BOOST_TEST((p::verify_upload_token(token_secret, zero, t_user, t_key, t_id, 0) == p::token_status::expired));
}

BOOST_AUTO_TEST_CASE(forged_upload_tokens_are_rejected) {
    const std::string token = p::sign_upload_token(token_secret, t_user, t_key, t_id, t_expiry);
    const std::int64_t now = t_expiry - 100;
    auto verify = [&](const std::string& tok, const std::string& user, const std::string& key, const std::string& id) {
        return p::verify_upload_token(token_secret, tok, user, key, id, now);
    };
    // Bound to user, key and upload id.
    BOOST_TEST((verify(token, "bob", t_key, t_id) == p::token_status::bad_signature));
    BOOST_TEST((verify(token, t_user, t_key + "x", t_id) == p::token_status::bad_signature));
    BOOST_TEST((verify(token, t_user, "uploads/bob/bob_1_model.safetensors", t_id) == p::token_status::bad_signature));
    BOOST_TEST((verify(token, t_user, t_key, "UPLOAD-ID-2") == p::token_status::bad_signature));
    BOOST_TEST((verify(token, t_user, t_key, "") == p::token_status::bad_signature));
    // Field boundaries cannot be moved: '\n' is refused in the fields.
    BOOST_TEST((verify(token, t_user + "\n" + t_key, "", t_id) == p::token_status::bad_signature));
    BOOST_TEST((verify(token, t_user, t_key + "\n" + t_id, "") == p::token_status::bad_signature));
    // A later expiry with the old signature.
    const std::string sig = token.substr(token.rfind('.') + 1);
    BOOST_TEST((verify("v1." + std::to_string(t_expiry + 86400) + "." + sig, t_user, t_key, t_id) ==
                p::token_status::bad_signature));
    // Every single-character change of the signature (same length: the
    // constant-time comparison decides).
    const std::string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    const std::size_t sig_at = token.size() - sig.size();
    for (std::size_t i = sig_at; i < token.size(); ++i) {
        std::string t = token;
        t[i] = alphabet[(alphabet.find(t[i]) + 1) % alphabet.size()];
        BOOST_TEST((verify(t, t_user, t_key, t_id) == p::token_status::bad_signature), "position " << i);
    }
    // Another secret.
    BOOST_TEST((p::verify_upload_token(sv4::secret_string(secret32 + "x"), token, t_user, t_key, t_id, now) ==
                p::token_status::bad_signature));
    const std::string other = p::sign_upload_token(sv4::secret_string(std::string(32, 'z')), t_user, t_key, t_id, t_expiry);
    BOOST_TEST((verify(other, t_user, t_key, t_id) == p::token_status::bad_signature));
    // A single-PUT token (upload id "") is not a multipart token, and the reverse.
    const std::string single = p::sign_upload_token(token_secret, t_user, t_key, "", t_expiry);
    BOOST_TEST((verify(single, t_user, t_key, "") == p::token_status::ok));
    BOOST_TEST((verify(single, t_user, t_key, t_id) == p::token_status::bad_signature));
    BOOST_TEST((verify(token, t_user, t_key, "") == p::token_status::bad_signature));
}

BOOST_AUTO_TEST_CASE(malformed_upload_tokens) {
    const std::string token = p::sign_upload_token(token_secret, t_user, t_key, t_id, t_expiry);
    const std::string sig = token.substr(token.rfind('.') + 1);
    BOOST_TEST(sig.size() == 43u);
    const std::string exp = std::to_string(t_expiry);
    const std::vector<std::string> bad = {
        "",
        "v1",
        "v1.",
        "v1..",
        "v1.." + sig,
        "v1." + exp,
        "v1." + exp + ".",
        token.substr(0, token.size() - 1),                  // truncated
        token + "A",                                        // too long
        token + "=",                                        // padded
        "v2." + exp + "." + sig,                            // another version
        "V1." + exp + "." + sig,
        "v1.0" + exp + "." + sig,                           // non-canonical expiry
        "v1.+" + exp + "." + sig,
        "v1.-1." + sig,
        "v1." + exp + "x." + sig,
        "v1.99999999999999999999." + sig,                   // 20 digits
        "v1.9999999999999999999." + sig,                    // 19 digits, above int64
        "v1." + exp + "." + sig.substr(0, 42) + "+",        // standard base64 alphabet
        "v1." + exp + "." + sig.substr(0, 42) + ".",
        "v1." + exp + "." + sig.substr(0, 21) + "." + sig.substr(22),
        " " + token,
    };
    for (const auto& t : bad) {
        BOOST_TEST_CONTEXT("token '" << t << "'") {
            BOOST_TEST((p::verify_upload_token(token_secret, t, t_user, t_key, t_id, 0) == p::token_status::malformed));
        }
    }
    BOOST_CHECK_THROW(p::sign_upload_token(token_secret, t_user, t_key, t_id, -1), std::invalid_argument);
    BOOST_CHECK_THROW(p::sign_upload_token(token_secret, "a\nb", t_key, t_id, 1), std::invalid_argument);
    BOOST_CHECK_THROW(p::sign_upload_token(token_secret, t_user, "k\n", t_id, 1), std::invalid_argument);
    BOOST_CHECK_THROW(p::sign_upload_token(token_secret, t_user, t_key, "\n", 1), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(require_upload_token_checks_ownership_and_expiry) {
    auto cfg = default_config();
    const std::int64_t now = 1700000000;
    const std::string token = p::issue_upload_token(cfg, t_user, t_key, t_id, now);
    BOOST_TEST(token.starts_with("v1." + std::to_string(now + 7 * 24 * 3600) + "."));
    p::upload_ref ref{t_id, t_key, token};
    BOOST_CHECK_NO_THROW(p::require_upload_token(cfg, "alice", ref, now));
    BOOST_CHECK_NO_THROW(p::require_upload_token(cfg, "alice", ref, now + 7 * 24 * 3600 - 1));

    auto e = expect_api_error([&] { p::require_upload_token(cfg, "alice", ref, now + 7 * 24 * 3600); }, 403,
                              p::api_code::upload_token_expired);
    BOOST_TEST(!contains(e.message, token));
    // Bob presenting Alice's upload: the key is not under his prefix.
    expect_api_error([&] { p::require_upload_token(cfg, "bob", ref, now); }, 403, p::api_code::invalid_upload_token);
    // Alice's token on a key under Bob's prefix.
    p::upload_ref moved = ref;
    moved.s3_key = "uploads/bob/bob_1_model.safetensors";
    expect_api_error([&] { p::require_upload_token(cfg, "bob", moved, now); }, 403, p::api_code::invalid_upload_token);
    // Another upload id, a malformed token.
    p::upload_ref other = ref;
    other.upload_id = "UPLOAD-ID-2";
    expect_api_error([&] { p::require_upload_token(cfg, "alice", other, now); }, 403, p::api_code::invalid_upload_token);
    p::upload_ref garbage = ref;
    garbage.upload_token = "garbage";
    auto m = expect_api_error([&] { p::require_upload_token(cfg, "alice", garbage, now); }, 403,
                              p::api_code::invalid_upload_token);
    BOOST_TEST(contains(m.message, "malformed"));
    // A key outside the prefix, even with a genuine token for it.
    p::upload_ref outside{t_id, "elsewhere/alice/x", p::issue_upload_token(cfg, "alice", "elsewhere/alice/x", t_id, now)};
    expect_api_error([&] { p::require_upload_token(cfg, "alice", outside, now); }, 403, p::api_code::invalid_upload_token);
    // A prefix that only starts like the user's ("alicex/") is not hers.
    p::upload_ref lookalike{t_id, "uploads/alicex/y", p::issue_upload_token(cfg, "alice", "uploads/alicex/y", t_id, now)};
    expect_api_error([&] { p::require_upload_token(cfg, "alice", lookalike, now); }, 403,
                     p::api_code::invalid_upload_token);
}

BOOST_AUTO_TEST_CASE(an_expired_token_still_aborts_its_own_upload_and_nothing_else) {
    auto cfg = default_config();
    const std::int64_t now = 1700000000;
    const std::int64_t later = now + 7 * 24 * 3600 + 1;   // past the token's expiry
    p::upload_ref ref{t_id, t_key, p::issue_upload_token(cfg, t_user, t_key, t_id, now)};
    BOOST_CHECK_NO_THROW(p::require_upload_token_for_abort(cfg, "alice", ref, now));
    BOOST_CHECK_NO_THROW(p::require_upload_token_for_abort(cfg, "alice", ref, later));
    // The other actions still refuse it.
    expect_api_error([&] { p::require_upload_token(cfg, "alice", ref, later); }, 403, p::api_code::upload_token_expired);
    // Expired or not, it binds user, key and upload id, and a forged one is refused.
    expect_api_error([&] { p::require_upload_token_for_abort(cfg, "bob", ref, later); }, 403,
                     p::api_code::invalid_upload_token);
    p::upload_ref other = ref;
    other.upload_id = "UPLOAD-ID-2";
    expect_api_error([&] { p::require_upload_token_for_abort(cfg, "alice", other, later); }, 403,
                     p::api_code::invalid_upload_token);
    p::upload_ref moved = ref;
    moved.s3_key = std::string(t_key) + "x";
    expect_api_error([&] { p::require_upload_token_for_abort(cfg, "alice", moved, later); }, 403,
                     p::api_code::invalid_upload_token);
    p::upload_ref forged = ref;
    forged.upload_token.back() = forged.upload_token.back() == 'A' ? 'B' : 'A';
    expect_api_error([&] { p::require_upload_token_for_abort(cfg, "alice", forged, later); }, 403,
                     p::api_code::invalid_upload_token);
}

// ---- requests -----------------------------------------------------------------

BOOST_AUTO_TEST_CASE(start_requests_are_planned_by_the_service) {
    auto cfg = default_config();  // part_size 8 MiB
    json::object body{{"action", "start"}, {"fileName", "my model.safetensors"}, {"fileSize", 104857600}};
    auto s = parse_as<p::start_req>(body, cfg);
    BOOST_TEST(s.file_name == "my_model.safetensors");
    BOOST_TEST(s.file_size == 104857600u);
    BOOST_TEST(s.content_type == "application/octet-stream");
    BOOST_TEST(s.plan.part_size == 8 * p::mib);
    BOOST_TEST(s.plan.part_count == 13u);
    BOOST_TEST(s.plan.last_part_size == 4 * p::mib);

    body["totalParts"] = 13;
    body["contentType"] = "application/x-safetensors; charset=binary";
    body["somethingNew"] = json::array{1, 2};  // unknown fields are ignored
    s = parse_as<p::start_req>(body, cfg);
    BOOST_TEST(s.plan.part_count == 13u);
    BOOST_TEST(s.content_type == "application/x-safetensors; charset=binary");
    BOOST_TEST(p::action_name(p::api_request(s)) == "start");

    body["totalParts"] = 20;
    auto e = expect_request_error(body, p::api_code::part_count_mismatch, cfg);
    BOOST_TEST(contains(e.message, "totalParts is 20"), e.message);
    BOOST_TEST(contains(e.message, "13 parts of 8388608 bytes"), e.message);

    // Old clients: 5 MiB parts, totalParts = ceil(size / 5 MiB).
    json::object o = base_config();
    o["part_size"] = 5 * p::mib;
    auto cfg5 = config_from(o);
    s = parse_as<p::start_req>(body, cfg5);
    BOOST_TEST(s.plan.part_count == 20u);
    BOOST_TEST(s.plan.part_size == 5 * p::mib);

    // An empty file is one empty part.
    json::object empty{{"action", "start"}, {"fileName", "e.bin"}, {"fileSize", 0}, {"totalParts", 1}};
    BOOST_TEST(parse_as<p::start_req>(empty, cfg).plan.part_count == 1u);
    // A huge file: the part size grows to fit 10,000 parts.
    json::object huge{{"action", "start"}, {"fileName", "h.bin"}, {"fileSize", 1024 * p::gib}};
    auto h = parse_as<p::start_req>(huge, cfg);
    BOOST_TEST(h.plan.part_count <= p::max_parts);
    BOOST_TEST(h.plan.part_size > 8 * p::mib);
}

BOOST_AUTO_TEST_CASE(start_without_file_size_takes_the_clients_part_count) {
    json::object o = base_config();
    o["allowed_extensions"] = json::array{"bin"};
    o["max_file_size"] = 10 * p::mib;   // cannot apply without a size: S3 checks parts at Complete
    auto cfg = config_from(o);
    json::object body{{"action", "start"}, {"fileName", "big model.bin"}, {"totalParts", 3}};
    auto s = parse_as<p::start_parts_req>(body, cfg);
    BOOST_TEST(s.file_name == "big_model.bin");
    BOOST_TEST(s.total_parts == 3u);
    BOOST_TEST(s.content_type == "application/octet-stream");
    BOOST_TEST(p::action_name(p::api_request(s)) == "start");
    // max_file_size 10 MiB: 3 parts can still make 10 MiB (5 + 5 + 0); 4 cannot
    // (every part but the last is at least 5 MiB: 15 MiB at least).
    body["totalParts"] = 4;
    auto big = expect_request_error(body, p::api_code::file_too_large, cfg);
    BOOST_TEST(contains(big.message, "totalParts 4 makes an object of at least 15728640 bytes"), big.message);
    BOOST_TEST(contains(big.message, "10485760"), big.message);
    auto unlimited = default_config();
    body["contentType"] = "application/x-thing";
    body["totalParts"] = 10000;
    s = parse_as<p::start_parts_req>(body, unlimited);
    BOOST_TEST(s.total_parts == 10000u);
    BOOST_TEST(s.content_type == "application/x-thing");
    body["fileSize"] = nullptr;   // null is absent, as everywhere in the contract
    BOOST_TEST(parse_as<p::start_parts_req>(body, unlimited).total_parts == 10000u);
    // With fileSize it is hoist's own form, planned by the service.
    body["fileSize"] = 6 * p::mib;
    body["totalParts"] = 1;
    BOOST_TEST(parse_as<p::start_req>(body, cfg).plan.part_count == 1u);

    // The name, extension and media type rules still apply.
    json::object bad{{"action", "start"}, {"fileName", "x.exe"}, {"totalParts", 2}};
    expect_request_error(bad, p::api_code::extension_not_allowed, cfg);
    bad["fileName"] = "../x.bin";
    expect_request_error(bad, p::api_code::invalid_file_name, cfg);
    bad["fileName"] = "x.bin";
    bad["contentType"] = "nonsense";
    expect_request_error(bad, p::api_code::invalid_request, cfg);
    bad.erase("contentType");
    for (json::value total : {json::value(0), json::value(10001), json::value("3"), json::value(2.5),
                              json::value(-1), json::value(true), json::value(json::array{3})}) {
        BOOST_TEST_CONTEXT("totalParts " << json::serialize(total)) {
            bad["totalParts"] = total;
            auto e = expect_request_error(bad, p::api_code::invalid_request, cfg);
            BOOST_TEST(contains(e.message, "totalParts must be a whole number from 1 to 10000"), e.message);
        }
    }
    bad.erase("totalParts");
    bad["fileName"] = 7;
    bad["totalParts"] = 2;
    auto e = expect_request_error(bad, p::api_code::invalid_request, cfg);
    BOOST_TEST(contains(e.message, "fileName must be a string"), e.message);
}

BOOST_AUTO_TEST_CASE(upload_token_is_optional_after_start_but_never_empty) {
    auto cfg = default_config();
    for (const char* action : {"complete", "abort", "presign", "list-parts"}) {
        BOOST_TEST_CONTEXT(action) {
            json::object b = upload_body(action);
            b["parts"] = json::array{json::object{{"PartNumber", 1}, {"ETag", "e"}}};
            b["partNumbers"] = json::array{1};
            b.erase("uploadToken");
            auto r = p::parse_api_request(json::serialize(b), cfg);
            std::visit([](const auto& q) {
                if constexpr (requires { q.upload; }) BOOST_TEST(q.upload.upload_token.empty());
                else BOOST_ERROR("not an upload request");
            }, r);
            b["uploadToken"] = nullptr;
            BOOST_CHECK_NO_THROW(p::parse_api_request(json::serialize(b), cfg));
            b["uploadToken"] = "";
            auto e = expect_request_error(b, p::api_code::invalid_request, cfg);
            BOOST_TEST(contains(e.message, "uploadToken must not be empty"), e.message);
        }
    }
}

BOOST_AUTO_TEST_CASE(without_a_token_the_key_prefix_authorises) {
    json::object o = base_config();
    o["key_prefix"] = "";
    const auto cfg = default_config();   // key_prefix "uploads"
    const auto bare = config_from(o);    // no prefix: USER/ is the caller's
    const std::int64_t now = 1700000000;
    auto ok = [&](const p::service_config& c, std::string user, std::string key,
                  p::upload_call call = p::upload_call::use) {
        BOOST_TEST_CONTEXT(user << " on " << key) {
            p::upload_ref ref{t_id, std::move(key), ""};
            BOOST_CHECK_NO_THROW(p::authorize_upload(c, user, ref, now, call));
        }
    };
    // The rule is require_own_key's, the browser routes' (forbidden, 403).
    auto refused = [&](const p::service_config& c, std::string user, std::string key,
                       p::upload_call call = p::upload_call::use) {
        BOOST_TEST_CONTEXT(user << " on " << key) {
            p::upload_ref ref{t_id, key, ""};
            expect_api_error([&] { p::authorize_upload(c, user, ref, now, call); }, 403, p::api_code::forbidden_key);
        }
    };
    ok(cfg, "alice", t_key);
    ok(cfg, "alice", t_key, p::upload_call::abort);
    ok(cfg, "alice", "uploads/alice/sub/dir/x.bin");
    refused(cfg, "bob", t_key);
    refused(cfg, "bob", t_key, p::upload_call::abort);
    for (const char* key : {"uploads/alice/", "uploads/alice", "uploads/alicex/y", "uploads/bob/x", "elsewhere/alice/x",
                            "uploads/alice/../bob/x", "uploads/alice/./x", "uploads/alice//x", "uploads/alice/x/",
                            "uploads/alice/..", "Uploads/alice/x", "/uploads/alice/x", ""})
        refused(cfg, "alice", key);
    ok(bare, "alice", "alice/alice_1_x.bin");
    refused(bare, "alice", "uploads/alice/x.bin");
    refused(bare, "alice", "bob/alice/x.bin");

    // With a token the token's checks apply, whatever the prefix says.
    const std::string token = p::issue_upload_token(cfg, t_user, t_key, t_id, now);
    p::upload_ref ref{t_id, t_key, token};
    BOOST_CHECK_NO_THROW(p::authorize_upload(cfg, "alice", ref, now));
    p::upload_ref forged = ref;
    forged.upload_token.back() = forged.upload_token.back() == 'A' ? 'B' : 'A';
    expect_api_error([&] { p::authorize_upload(cfg, "alice", forged, now); }, 403, p::api_code::invalid_upload_token);
    p::upload_ref garbage = ref;
    garbage.upload_token = "garbage";
    expect_api_error([&] { p::authorize_upload(cfg, "alice", garbage, now); }, 403, p::api_code::invalid_upload_token);
    p::upload_ref other_id = ref;
    other_id.upload_id = "UPLOAD-ID-2";
    expect_api_error([&] { p::authorize_upload(cfg, "alice", other_id, now); }, 403, p::api_code::invalid_upload_token);
    // Bob with Alice's genuine token on Alice's key.
    expect_api_error([&] { p::authorize_upload(cfg, "bob", ref, now); }, 403, p::api_code::invalid_upload_token);
    // Expired: refused, except for abort (as require_upload_token_for_abort).
    const std::int64_t later = now + 7 * 24 * 3600;
    expect_api_error([&] { p::authorize_upload(cfg, "alice", ref, later); }, 403, p::api_code::upload_token_expired);
    BOOST_CHECK_NO_THROW(p::authorize_upload(cfg, "alice", ref, later, p::upload_call::abort));
    expect_api_error([&] { p::authorize_upload(cfg, "alice", forged, later, p::upload_call::abort); }, 403,
                     p::api_code::invalid_upload_token);
}

BOOST_AUTO_TEST_CASE(start_request_errors) {
    json::object o = base_config();
    o["max_file_size"] = 100 * p::mib;
    o["allowed_extensions"] = json::array{"bin"};
    auto cfg = config_from(o);
    auto start = [](json::value name, json::value size) {
        json::object b{{"action", "start"}, {"fileName", name}, {"fileSize", size}};
        return b;
    };
    BOOST_CHECK_NO_THROW(p::parse_api_request(json::serialize(start("a.bin", 100 * p::mib)), cfg));
    auto big = expect_request_error(start("a.bin", 100 * p::mib + 1), p::api_code::file_too_large, cfg);
    BOOST_TEST(contains(big.message, "104857600"));
    expect_request_error(start("a.exe", 1), p::api_code::extension_not_allowed, cfg);
    expect_request_error(start("../a.bin", 1), p::api_code::invalid_file_name, cfg);
    expect_request_error(start("", 1), p::api_code::invalid_file_name, cfg);
    expect_request_error(start(5, 1), p::api_code::invalid_request, cfg);
    expect_request_error(start("a.bin", -1), p::api_code::invalid_request, cfg);
    expect_request_error(start("a.bin", 1.5), p::api_code::invalid_request, cfg);
    expect_request_error(start("a.bin", "100"), p::api_code::invalid_request, cfg);
    expect_request_error(start("a.bin", nullptr), p::api_code::invalid_request, cfg);
    auto missing = expect_request_error(json::object{{"action", "start"}, {"fileSize", 1}}, p::api_code::invalid_request, cfg);
    BOOST_TEST(contains(missing.message, "fileName is required"));
    // Neither fileSize nor totalParts: the message names both forms.
    missing = expect_request_error(json::object{{"action", "start"}, {"fileName", "a.bin"}}, p::api_code::invalid_request, cfg);
    BOOST_TEST(contains(missing.message, "fileSize or totalParts is required"), missing.message);
    missing = expect_request_error(json::object{{"action", "start"}, {"fileName", "a.bin"}, {"fileSize", nullptr}},
                                   p::api_code::invalid_request, cfg);
    BOOST_TEST(contains(missing.message, "fileSize or totalParts is required"), missing.message);

    for (json::value total : {json::value(0), json::value(10001), json::value("20"), json::value(2.5), json::value(-3)}) {
        json::object b = start("a.bin", 1);
        b["totalParts"] = total;
        auto e = expect_request_error(b, p::api_code::invalid_request, cfg);
        BOOST_TEST(contains(e.message, "totalParts"), e.message);
    }
    for (json::value ct : {json::value(""), json::value("text"), json::value("text/"), json::value("/plain"),
                           json::value("text/plain\r\nX-Evil: 1"), json::value("te xt/plain"), json::value(7),
                           json::value("text/pl\xc3\xa4in"), json::value(std::string(256, 'a') + "/b")}) {
        json::object b = start("a.bin", 1);
        b["contentType"] = ct;
        auto e = expect_request_error(b, p::api_code::invalid_request, cfg);
        BOOST_TEST(contains(e.message, "contentType"), e.message);
    }
}

BOOST_AUTO_TEST_CASE(body_and_action_errors) {
    auto cfg = default_config();
    for (const char* bad : {"", "{", "[1]", "\"start\"", "null", "42", "{\"action\":\"start\",}", "{'action':'start'}",
                            "{\"action\":\"start\"} trailing"}) {
        expect_request_error(bad, p::api_code::invalid_json, cfg);
    }
    expect_request_error(std::string("{\"action\":\"start\",\"fileName\":\"a\xff.bin\",\"fileSize\":1}"),
                         p::api_code::invalid_json, cfg);
    expect_request_error(std::string(200, '[') + std::string(200, ']'), p::api_code::invalid_json, cfg);

    auto e = expect_request_error(json::object{{"fileName", "a"}}, p::api_code::invalid_request, cfg);
    BOOST_TEST(contains(e.message, "action is required"));
    expect_request_error(json::object{{"action", 1}}, p::api_code::invalid_request, cfg);
    expect_request_error(json::object{{"action", nullptr}}, p::api_code::invalid_request, cfg);
    for (const char* a : {"upload", "START", "list_parts", "", "start "})
        expect_request_error(json::object{{"action", a}}, p::api_code::unknown_action, cfg);

    // The body limit: 413 from the parser and from the helper.
    json::object o = base_config();
    o["max_body_bytes"] = 1024;
    auto small = config_from(o);
    json::object body{{"action", "start"}, {"fileName", std::string(200, 'a')}, {"fileSize", 1}};
    body["padding"] = std::string(1024, 'x');
    expect_request_error(body, p::api_code::payload_too_large, small, 413);
    BOOST_CHECK_NO_THROW(p::check_body_size(1024, small));
    expect_api_error([&] { p::check_body_size(1025, small); }, 413, p::api_code::payload_too_large);
    BOOST_CHECK_NO_THROW(p::check_body_size(p::mib, cfg));
    expect_api_error([&] { p::check_body_size(p::mib + 1, cfg); }, 413, p::api_code::payload_too_large);
}

BOOST_AUTO_TEST_CASE(complete_requests) {
    auto cfg = default_config();
    json::object body = upload_body("complete");
    body["parts"] = json::array{json::object{{"PartNumber", 1}, {"ETag", "\"e1\""}},
                                json::object{{"PartNumber", 2}, {"ETag", "\"e2\""}, {"Size", 5}},
                                json::object{{"PartNumber", 7}, {"ETag", "e7"}}};
    auto c = parse_as<p::complete_req>(body, cfg);
    BOOST_TEST(c.upload.upload_id == "UPLOAD-ID-1");
    BOOST_TEST(c.upload.s3_key == "uploads/alice/alice_1700000000123_model.safetensors");
    BOOST_TEST(c.upload.upload_token == "v1.1.token");
    BOOST_TEST_REQUIRE(c.parts.size() == 3u);
    BOOST_TEST(c.parts[0].part_number == 1u);
    BOOST_TEST(c.parts[0].etag == "\"e1\"");
    BOOST_TEST(c.parts[2].part_number == 7u);
    BOOST_TEST(c.parts[2].checksum_crc32c.empty());
    BOOST_TEST(p::action_name(p::api_request(c)) == "complete");
    // The parsed parts make a valid CompleteMultipartUpload body.
    BOOST_TEST(contains(p::complete_body(c.parts), "<ETag>&quot;e1&quot;</ETag>"));

    // 10,000 parts is the maximum, 10,001 is refused.
    json::array many;
    for (int n = 1; n <= 10000; ++n) many.push_back(json::object{{"PartNumber", n}, {"ETag", "e"}});
    body["parts"] = many;
    BOOST_TEST(parse_as<p::complete_req>(body, cfg).parts.size() == 10000u);
    many.push_back(json::object{{"PartNumber", 10000}, {"ETag", "e"}});
    body["parts"] = many;
    auto e = expect_request_error(body, p::api_code::invalid_parts, cfg);
    BOOST_TEST(contains(e.message, "10001"));

    struct bad_parts {
        json::value parts;
        std::string says;
    };
    const std::vector<bad_parts> cases = {
        {json::value("x"), "parts must be an array"},
        {json::array{}, "at least one"},
        {json::array{5}, "parts[0] must be an object"},
        {json::array{json::object{{"ETag", "e"}}}, "parts[0].PartNumber is required"},
        {json::array{json::object{{"PartNumber", 0}, {"ETag", "e"}}}, "parts[0].PartNumber"},
        {json::array{json::object{{"PartNumber", 10001}, {"ETag", "e"}}}, "parts[0].PartNumber"},
        {json::array{json::object{{"PartNumber", "1"}, {"ETag", "e"}}}, "parts[0].PartNumber"},
        {json::array{json::object{{"PartNumber", 1.0}, {"ETag", "e"}}}, "parts[0].PartNumber"},
        {json::array{json::object{{"PartNumber", 1}}}, "parts[0].ETag is required"},
        {json::array{json::object{{"PartNumber", 1}, {"ETag", ""}}}, "parts[0].ETag must not be empty"},
        {json::array{json::object{{"PartNumber", 1}, {"ETag", 5}}}, "parts[0].ETag must be a string"},
        {json::array{json::object{{"PartNumber", 1}, {"ETag", "a\nb"}}}, "parts[0].ETag contains a control"},
        {json::array{json::object{{"PartNumber", 1}, {"ETag", std::string(1025, 'e')}}}, "parts[0].ETag must be at most 1024 bytes"},
        {json::array{json::object{{"PartNumber", 2}, {"ETag", "e"}}, json::object{{"PartNumber", 1}, {"ETag", "e"}}},
         "parts[1].PartNumber 1 is not above the previous 2"},
        {json::array{json::object{{"PartNumber", 3}, {"ETag", "e"}}, json::object{{"PartNumber", 3}, {"ETag", "e"}}},
         "strictly ascending"},
    };
    for (const auto& c2 : cases) {
        body["parts"] = c2.parts;
        auto err = expect_request_error(body, p::api_code::invalid_parts, cfg);
        BOOST_TEST(contains(err.message, c2.says), err.message);
    }
    body.erase("parts");
    auto missing = expect_request_error(body, p::api_code::invalid_request, cfg);
    BOOST_TEST(contains(missing.message, "parts is required"));
}

BOOST_AUTO_TEST_CASE(upload_reference_errors_for_every_action) {
    auto cfg = default_config();
    for (const char* action : {"complete", "abort", "presign", "list-parts"}) {
        json::object good = upload_body(action);
        good["parts"] = json::array{json::object{{"PartNumber", 1}, {"ETag", "e"}}};
        good["partNumbers"] = json::array{1};
        BOOST_TEST_CONTEXT(action) {
            BOOST_CHECK_NO_THROW(p::parse_api_request(json::serialize(good), cfg));
            for (const char* field : {"uploadId", "s3Key", "uploadToken"}) {
                json::object b = good;
                b.erase(field);
                // uploadToken may be left out (the key prefix authorises then).
                if (std::string_view(field) != "uploadToken") {
                    auto e = expect_request_error(b, p::api_code::invalid_request, cfg);
                    BOOST_TEST(contains(e.message, std::string(field) + " is required"), e.message);
                }
                b[field] = "";
                expect_request_error(b, p::api_code::invalid_request, cfg);
                b[field] = 12;
                auto e = expect_request_error(b, p::api_code::invalid_request, cfg);
                BOOST_TEST(contains(e.message, "must be a string"), e.message);
                b[field] = std::string(1025, 'k');
                expect_request_error(b, p::api_code::invalid_request, cfg);
            }
            json::object b = good;
            b["uploadId"] = "has space";
            expect_request_error(b, p::api_code::invalid_request, cfg);
            b = good;
            b["s3Key"] = "uploads/alice/a\nb";
            expect_request_error(b, p::api_code::invalid_request, cfg);
            b = good;
            b["uploadToken"] = "v1.1.\xc3\xa9";
            expect_request_error(b, p::api_code::invalid_request, cfg);
        }
    }
    auto a = parse_as<p::abort_req>(upload_body("abort"), cfg);
    BOOST_TEST(a.upload.upload_id == "UPLOAD-ID-1");
    BOOST_TEST(p::action_name(p::api_request(a)) == "abort");
    auto l = parse_as<p::list_parts_req>(upload_body("list-parts"), cfg);
    BOOST_TEST(l.upload.s3_key == "uploads/alice/alice_1700000000123_model.safetensors");
    BOOST_TEST(p::action_name(p::api_request(l)) == "list-parts");
}

BOOST_AUTO_TEST_CASE(presign_requests) {
    json::object o = base_config();
    o["url_batch"] = 3;
    auto cfg = config_from(o);
    json::object body = upload_body("presign");
    body["partNumbers"] = json::array{22, 21, 10000};
    auto r = parse_as<p::presign_req>(body, cfg);
    BOOST_TEST((r.part_numbers == std::vector<std::uint32_t>{22, 21, 10000}));  // client order kept
    BOOST_TEST(p::action_name(p::api_request(r)) == "presign");

    const std::vector<std::pair<json::value, std::string>> cases = {
        {json::array{}, "at least one"},
        {json::array{1, 2, 3, 4}, "at most 3"},
        {json::array{1, 2, 1}, "part 1 twice"},
        {json::array{0}, "partNumbers[0]"},
        {json::array{1, 10001}, "partNumbers[1]"},
        {json::array{"1"}, "partNumbers[0]"},
        {json::array{-1}, "partNumbers[0]"},
        {json::value(1), "must be an array"},
    };
    for (const auto& [numbers, says] : cases) {
        body["partNumbers"] = numbers;
        auto e = expect_request_error(body, p::api_code::invalid_request, cfg);
        BOOST_TEST(contains(e.message, says), e.message);
    }
    body.erase("partNumbers");
    expect_request_error(body, p::api_code::invalid_request, cfg);
}

BOOST_AUTO_TEST_CASE(single_requests) {
    auto cfg = default_config();  // single_put_max 8 MiB
    json::object body{{"action", "single"}, {"fileName", "photo 1.jpg"}, {"fileSize", 8 * p::mib}};
    auto s = parse_as<p::single_req>(body, cfg);
    BOOST_TEST(s.file_name == "photo_1.jpg");
    BOOST_TEST(s.file_size == 8 * p::mib);
    BOOST_TEST(s.content_type == "application/octet-stream");
    BOOST_TEST(p::action_name(p::api_request(s)) == "single");
    body["contentType"] = "image/jpeg";
    BOOST_TEST(parse_as<p::single_req>(body, cfg).content_type == "image/jpeg");

    body["fileSize"] = 8 * p::mib + 1;
    auto e = expect_request_error(body, p::api_code::file_too_large, cfg);
    BOOST_TEST(contains(e.message, "\"start\""), e.message);
    body["fileSize"] = 0;
    BOOST_TEST(parse_as<p::single_req>(body, cfg).file_size == 0u);
    body["fileName"] = "a/b.jpg";
    expect_request_error(body, p::api_code::invalid_file_name, cfg);
    body["fileName"] = "b.jpg";
    body["contentType"] = "bad";
    expect_request_error(body, p::api_code::invalid_request, cfg);
}

// ---- presigning and the whole flow ------------------------------------------------

BOOST_AUTO_TEST_CASE(presigned_urls_match_presign_url) {
    auto cfg = default_config();
    auto signer = test_signer();
    const auto date = sv4::amz_date::parse("20240501T120000Z");
    const std::string key = "uploads/alice/alice_1714564800000_my model.bin";

    auto loc = p::storage_location(cfg, key);
    BOOST_TEST(loc.host == "127.0.0.1:9000");
    BOOST_TEST(loc.path == "/upload-bucket/" + key);

    auto urls = p::presign_parts(cfg, signer, key, "UP/1+2", {3, 1}, date);
    BOOST_TEST_REQUIRE(urls.size() == 2u);
    BOOST_TEST(urls[0].part_number == 3u);
    BOOST_TEST(urls[0].url == p::presign_url(loc, "PUT", {{"partNumber", "3"}, {"uploadId", "UP/1+2"}}, signer,
                                             "us-east-1", date, 3600s));
    BOOST_TEST(contains(urls[1].url, "partNumber=1&uploadId=UP%2F1%2B2"), urls[1].url);
    BOOST_TEST(contains(urls[1].url, "X-Amz-Expires=3600"));
    BOOST_TEST(urls[1].url.starts_with("https://127.0.0.1:9000/upload-bucket/uploads/alice/alice_1714564800000_my%20model.bin?"));
    BOOST_CHECK_THROW(p::presign_parts(cfg, signer, key, "UP", {0}, date), std::invalid_argument);
    BOOST_CHECK_THROW(p::presign_parts(cfg, signer, key, "UP", {10001}, date), std::invalid_argument);

    json::object o = base_config();
    o["presign_expiry"] = 900;
    auto short_cfg = config_from(o);
    const std::string put = p::presign_single_put(short_cfg, signer, key, date);
    BOOST_TEST(put == p::presign_url(loc, "PUT", {}, signer, "us-east-1", date, 900s));
    BOOST_TEST(contains(put, "X-Amz-Expires=900"));
    BOOST_TEST(!contains(put, "partNumber"));

    p::part_plan plan = p::plan_parts(104857600, 8 * p::mib);
    BOOST_TEST(p::initial_part_numbers(plan, 100).size() == 13u);
    auto first = p::initial_part_numbers(p::plan_parts(250 * 8 * p::mib, 8 * p::mib), 100);
    BOOST_TEST_REQUIRE(first.size() == 100u);
    BOOST_TEST(first.front() == 1u);
    BOOST_TEST(first.back() == 100u);
}

BOOST_AUTO_TEST_CASE(start_to_complete_flow) {
    // What the server does, minus the S3 calls: authenticate, parse, key, token,
    // URLs, response; then the client's complete comes back and is authorized.
    auto cfg = default_config();
    auto signer = test_signer();
    const std::int64_t now_ms = 1714564800123;
    const std::int64_t now = now_ms / 1000;
    const auto date = sv4::amz_date::from(std::chrono::system_clock::time_point(std::chrono::seconds(now)));

    auto user = p::user_for_bearer(cfg, "Bearer alice-token");
    BOOST_TEST_REQUIRE(user.has_value());
    auto req = p::parse_api_request(
        R"({"action":"start","fileName":"model.safetensors","totalParts":150,"fileSize":1258291200})", cfg);
    auto start = std::get<p::start_req>(req);
    BOOST_TEST(start.plan.part_count == 150u);
    const std::string key = p::make_object_key(cfg.key_prefix, *user, now_ms, start.file_name);
    const std::string upload_id = "S3-UPLOAD-ID";  // from CreateMultipartUpload
    p::start_response resp;
    resp.upload_id = upload_id;
    resp.s3_key = key;
    resp.unique_file_name = std::string(p::key_file_name(key));
    resp.presigned_urls = p::presign_parts(cfg, signer, key, upload_id, p::initial_part_numbers(start.plan, cfg.url_batch), date);
    resp.upload_token = p::issue_upload_token(cfg, *user, key, upload_id, now);
    resp.part_size = start.plan.part_size;
    resp.expires_at = now + cfg.presign_expiry.count();
    json::value sent = json::parse(p::response_json(resp));
    BOOST_TEST(sent.at("presignedUrls").as_array().size() == 100u);
    BOOST_TEST(sent.at("uniqueFileName").as_string() == "alice_1714564800123_model.safetensors");
    BOOST_TEST(sent.at("s3Key").as_string() == "uploads/alice/alice_1714564800123_model.safetensors");

    // The client asks for the rest, then completes.
    json::object more{{"action", "presign"}, {"uploadId", sent.at("uploadId")}, {"s3Key", sent.at("s3Key")},
                      {"uploadToken", sent.at("uploadToken")}, {"partNumbers", json::array{101, 102}}};
    auto presign = std::get<p::presign_req>(p::parse_api_request(json::serialize(more), cfg));
    BOOST_CHECK_NO_THROW(p::require_upload_token(cfg, *user, presign.upload, now + 60));

    json::object done{{"action", "complete"}, {"uploadId", sent.at("uploadId")}, {"s3Key", sent.at("s3Key")},
                      {"uploadToken", sent.at("uploadToken")}};
    json::array parts;
    for (int n = 1; n <= 150; ++n) parts.push_back(json::object{{"PartNumber", n}, {"ETag", "\"etag" + std::to_string(n) + "\""}});
    done["parts"] = parts;
    auto complete = std::get<p::complete_req>(p::parse_api_request(json::serialize(done), cfg));
    BOOST_CHECK_NO_THROW(p::require_upload_token(cfg, *user, complete.upload, now + 3600));
    // Bob cannot complete it.
    auto bob = p::user_for_bearer(cfg, "Bearer bob-token");
    expect_api_error([&] { p::require_upload_token(cfg, *bob, complete.upload, now + 60); }, 403,
                     p::api_code::invalid_upload_token);
}

BOOST_AUTO_TEST_SUITE_END()
