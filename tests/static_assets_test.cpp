// hoist serve's upload page files (engine/serve/src/static_assets.hpp): which
// target finds which file, the caching headers, ETags and If-None-Match, on
// a table made here and on the table embedded at build time.
#include "static_assets.hpp"

#include <boost/test/unit_test.hpp>

#include <array>
#include <string>

namespace d = hoist::engine::detail;

namespace {

const std::array<d::embedded_file, 4> table{{
    {"index.html", "<!doctype html>", "\"aaaa\""},
    {"app.mjs", "export {}", "\"bbbb\""},
    {"vendor/uppy-6.0.1/uppy.min.css", "a{}", "\"cccc\""},
    {"empty.txt", "", "\"dddd\""},
}};

const d::embedded_file* embedded(std::string_view path) {
    for (const auto& f : d::web_files())
        if (f.path == path) return &f;
    return nullptr;
}

} // namespace

BOOST_AUTO_TEST_SUITE(static_assets)

BOOST_AUTO_TEST_CASE(root_is_the_page_and_is_revalidated) {
    for (std::string target : {"/", "/?token=x"}) {
        auto a = d::answer_static(table, target, "", false);
        BOOST_TEST_CONTEXT(target) {
            BOOST_TEST(a.status == 200u);
            BOOST_TEST(a.body == "<!doctype html>");
            BOOST_TEST(a.content_length == 15u);
            BOOST_TEST(a.content_type == "text/html; charset=utf-8");
            BOOST_TEST(a.cache_control == "no-cache");
            BOOST_TEST(a.etag == "\"aaaa\"");
        }
    }
}

BOOST_AUTO_TEST_CASE(versioned_vendor_files_are_immutable_own_modules_are_not) {
    auto vendor = d::answer_static(table, "/assets/vendor/uppy-6.0.1/uppy.min.css", "", false);
    BOOST_TEST(vendor.status == 200u);
    BOOST_TEST(vendor.cache_control == "public, max-age=31536000, immutable");
    BOOST_TEST(vendor.content_type == "text/css; charset=utf-8");
    auto own = d::answer_static(table, "/assets/app.mjs", "", false);
    BOOST_TEST(own.status == 200u);
    BOOST_TEST(own.cache_control == "no-cache");
    BOOST_TEST(own.content_type == "text/javascript; charset=utf-8");
    BOOST_TEST(own.body == "export {}");
}

BOOST_AUTO_TEST_CASE(head_has_the_length_and_no_body) {
    auto a = d::answer_static(table, "/assets/app.mjs", "", true);
    BOOST_TEST(a.status == 200u);
    BOOST_TEST(a.body.empty());
    BOOST_TEST(a.content_length == 9u);
    auto empty = d::answer_static(table, "/assets/empty.txt", "", false);
    BOOST_TEST(empty.status == 200u);
    BOOST_TEST(empty.content_length == 0u);
}

BOOST_AUTO_TEST_CASE(if_none_match_gives_304) {
    for (std::string inm : {"\"bbbb\"", "W/\"bbbb\"", "\"x\", \"bbbb\"", "\"x\",W/\"bbbb\" ", "*"}) {
        auto a = d::answer_static(table, "/assets/app.mjs", inm, false);
        BOOST_TEST_CONTEXT(inm) {
            BOOST_TEST(a.status == 304u);
            BOOST_TEST(a.body.empty());
            BOOST_TEST(a.etag == "\"bbbb\"");
            BOOST_TEST(a.cache_control == "no-cache");
        }
    }
    for (std::string inm : {"\"bbb\"", "\"bbbbb\"", "bbbb", "\"aaaa\"", ",", "W/"}) {
        auto a = d::answer_static(table, "/assets/app.mjs", inm, false);
        BOOST_TEST_CONTEXT(inm) { BOOST_TEST(a.status == 200u); }
    }
}

BOOST_AUTO_TEST_CASE(anything_else_is_404) {
    for (std::string target :
         {"/assets/", "/assets/nope.mjs", "/assets/../index.html", "/assets/./app.mjs", "/assets//app.mjs",
          "/assets/%61pp.mjs", "/assets/APP.MJS", "/assets/vendor/uppy-6.0.1/", "/index.html", "/app.mjs", "",
          "/assets/app.mjs/"}) {
        auto a = d::answer_static(table, target, "", false);
        BOOST_TEST_CONTEXT(target) {
            BOOST_TEST(a.status == 404u);
            BOOST_TEST(a.body.empty());
        }
    }
}

BOOST_AUTO_TEST_CASE(the_page_names_the_configured_api_path) {
    const std::string html = "<head><meta name=\"hoist-api-path\" content=\"/v1/presigned-upload\"></head>";
    BOOST_TEST(d::render_index(html, {}) == html);
    BOOST_TEST(d::render_index(html, {"/api/upload"}) ==
               "<head><meta name=\"hoist-api-path\" content=\"/api/upload\"></head>");
    BOOST_TEST(d::render_index(html, {"/a\"<&>"}) ==
               "<head><meta name=\"hoist-api-path\" content=\"/a&quot;&lt;&amp;&gt;\"></head>");

    const std::array<d::embedded_file, 1> page{{{"index.html", html, "\"aaaa\""}}};
    auto standard = d::answer_static(page, "/", "", false);
    BOOST_TEST(standard.etag == "\"aaaa\"");
    auto other = d::answer_static(page, "/", "", false, {"/api/upload"});
    BOOST_TEST(other.status == 200u);
    BOOST_TEST(other.body.find("content=\"/api/upload\"") != std::string::npos);
    BOOST_TEST(other.content_length == other.body.size());
    BOOST_TEST(other.etag.starts_with("\"aaaa-"));
    BOOST_TEST(other.etag.size() == standard.etag.size() + 9);
    BOOST_TEST(other.etag != d::answer_static(page, "/", "", false, {"/api/other"}).etag);
    // The default page's ETag is not this page's: no 304 across a config change.
    BOOST_TEST(d::answer_static(page, "/", standard.etag, false, {"/api/upload"}).status == 200u);
    BOOST_TEST(d::answer_static(page, "/", other.etag, false, {"/api/upload"}).status == 304u);
}

BOOST_AUTO_TEST_CASE(content_types) {
    BOOST_TEST(d::content_type_for("a/b.mjs") == "text/javascript; charset=utf-8");
    BOOST_TEST(d::content_type_for("x.png") == "image/png");
    BOOST_TEST(d::content_type_for("vendor/uppy-6.0.1/LICENSE") == "text/plain; charset=utf-8");
    BOOST_TEST(d::content_type_for("a.mjs.bin") == "application/octet-stream");
    BOOST_TEST(d::content_type_for("html") == "application/octet-stream");
}

// The table the build embedded: the page, hoist's modules and Uppy's dist, each
// byte for byte as in engine/serve/web (checked on the first and last bytes
// and the size of the files whose content is known).
BOOST_AUTO_TEST_CASE(the_embedded_table_holds_the_page) {
    const auto* index = embedded("index.html");
    BOOST_TEST_REQUIRE(index != nullptr);
    BOOST_TEST(index->bytes.starts_with("<!doctype html>"));
    BOOST_TEST(index->bytes.find("/assets/app.mjs") != std::string_view::npos);
    // The placeholder render_index fills in.
    BOOST_TEST(index->bytes.find("<meta name=\"hoist-api-path\" content=\"/v1/presigned-upload\">") !=
               std::string_view::npos);
    const auto* uppy = embedded("vendor/uppy-6.0.1/uppy.min.mjs");
    BOOST_TEST_REQUIRE(uppy != nullptr);
    BOOST_TEST(uppy->bytes.size() == 593430u);   // npm's uppy@6.0.1 dist/uppy.min.mjs
    BOOST_TEST(uppy->bytes.ends_with("//# sourceMappingURL=uppy.min.mjs.map\n"));
    BOOST_TEST_REQUIRE(embedded("vendor/uppy-6.0.1/uppy.min.css") != nullptr);
    BOOST_TEST_REQUIRE(embedded("vendor/uppy-6.0.1/LICENSE") != nullptr);
    BOOST_TEST_REQUIRE(embedded("hoist-uploader.mjs") != nullptr);
    for (const auto& f : d::web_files()) {
        BOOST_TEST_CONTEXT(f.path) {
            BOOST_TEST(f.etag.size() == 22u);   // 20 hex digits, quoted
            BOOST_TEST(f.etag.front() == '"');
            BOOST_TEST(f.etag.back() == '"');
            BOOST_TEST(d::content_type_for(f.path) != "application/octet-stream");
        }
    }
    auto a = d::answer_static(d::web_files(), "/", "", false);
    BOOST_TEST(a.status == 200u);
    BOOST_TEST(a.body == index->bytes);
}

BOOST_AUTO_TEST_SUITE_END()

// The page's policy: only the service's scripts, requests only to the service
// and the storage origin given, no framing, no plugins.
BOOST_AUTO_TEST_CASE(the_page_policy_allows_the_storage_origin_and_only_own_scripts) {
    const std::string p = d::page_security_policy("https://bkt.s3.eu-west-1.amazonaws.com");
    auto directive = [&](std::string_view name) {
        const auto at = p.find(std::string(name) + " ");
        BOOST_TEST_REQUIRE(at != std::string::npos, name << " in " << p);
        const auto end = p.find(';', at);
        return p.substr(at, end == std::string::npos ? std::string::npos : end - at);
    };
    BOOST_TEST(directive("default-src") == "default-src 'self'");
    BOOST_TEST(directive("script-src") == "script-src 'self'");   // no 'unsafe-inline', no 'unsafe-eval'
    BOOST_TEST(directive("connect-src") == "connect-src 'self' https://bkt.s3.eu-west-1.amazonaws.com");
    BOOST_TEST(directive("frame-ancestors") == "frame-ancestors 'none'");
    BOOST_TEST(directive("object-src") == "object-src 'none'");
    BOOST_TEST(directive("base-uri") == "base-uri 'none'");
    BOOST_TEST(d::page_security_policy("").find("connect-src 'self';") != std::string::npos);
}
