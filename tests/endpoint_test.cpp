// Endpoint URLs, s3:// URLs and the addressing-style decision.
#include "hoist/protocol/s3/endpoint.hpp"

#include <boost/test/unit_test.hpp>

namespace p = hoist::protocol;

BOOST_AUTO_TEST_SUITE(endpoints)

BOOST_AUTO_TEST_CASE(custom_endpoints_parse_with_ports_and_ipv6) {
    auto ep = p::parse_endpoint("https://127.0.0.1:9000");
    BOOST_TEST(ep.host == "127.0.0.1");
    BOOST_TEST(ep.port == 9000);
    BOOST_TEST(ep.tls());
    BOOST_TEST(!ep.is_aws);
    BOOST_TEST(ep.authority() == "127.0.0.1:9000");

    auto v6 = p::parse_endpoint("http://[::1]:8080/");
    BOOST_TEST(v6.host == "::1");
    BOOST_TEST(!v6.tls());
    BOOST_TEST(v6.authority() == "[::1]:8080");

    auto plain = p::parse_endpoint("HTTPS://Storage.Example.COM");
    BOOST_TEST(plain.host == "storage.example.com");
    BOOST_TEST(plain.port == 443);
    BOOST_TEST(plain.authority() == "storage.example.com");  // default port omitted
    BOOST_TEST(p::parse_endpoint("http://h:80").authority() == "h");
}

BOOST_AUTO_TEST_CASE(bad_endpoints_are_refused_with_a_reason) {
    for (const char* bad : {"", "127.0.0.1:9000", "ftp://h", "https://", "https://h:0", "https://h:65536",
                            "https://h:abc", "https://user:pw@h", "https://h/prefix", "https://h/?q=1",
                            "https://h/#f", "not a url"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(p::parse_endpoint(bad), p::address_error); }
    }
    BOOST_CHECK_EXCEPTION(p::parse_endpoint("ftp://h"), p::address_error, [](const p::address_error& e) {
        return std::string(e.what()).find("https or http") != std::string::npos;
    });
}

BOOST_AUTO_TEST_CASE(s3_urls_keep_the_key_literally) {
    auto u = p::parse_s3_url("s3://my-bucket/dir/a b+c%20d");
    BOOST_TEST(u.bucket == "my-bucket");
    BOOST_TEST(u.key == "dir/a b+c%20d");  // no percent-decoding, as aws-cli
    BOOST_TEST(p::parse_s3_url("s3://b-1//lead").key == "/lead");
    BOOST_TEST(p::parse_s3_url("s3://bucket", false).key.empty());
    for (const char* bad : {"https://b/k", "s3:/b/k", "s3://", "s3:///k", "s3://b/", "s3://bucket",
                            "s3://ab/k", "s3://-bucket/k", "s3://bu$ket/k"}) {
        BOOST_TEST_CONTEXT(bad) { BOOST_CHECK_THROW(p::parse_s3_url(bad), p::address_error); }
    }
    BOOST_CHECK_THROW(p::parse_s3_url("s3://bucket/" + std::string(1025, 'k')), p::address_error);
}

BOOST_AUTO_TEST_CASE(aws_uses_virtual_hosts_except_for_dotted_buckets) {
    auto aws = p::aws_endpoint("eu-west-1");
    auto v = p::locate(aws, "my-bucket", "a b.txt", p::addressing::automatic);
    BOOST_TEST(v.host == "my-bucket.s3.eu-west-1.amazonaws.com");
    BOOST_TEST(v.path == "/a b.txt");
    auto dotted = p::locate(aws, "my.bucket", "k", p::addressing::automatic);
    BOOST_TEST(dotted.host == "s3.eu-west-1.amazonaws.com");
    BOOST_TEST(dotted.path == "/my.bucket/k");
    BOOST_CHECK_THROW(p::locate(aws, "my.bucket", "k", p::addressing::virtual_host), p::address_error);
    auto forced_path = p::locate(aws, "my-bucket", "k", p::addressing::path);
    BOOST_TEST(forced_path.path == "/my-bucket/k");
    BOOST_CHECK_THROW(p::aws_endpoint("EU WEST"), p::address_error);
}

BOOST_AUTO_TEST_CASE(custom_endpoints_are_path_style_unless_asked) {
    auto ep = p::parse_endpoint("https://127.0.0.1:9000");
    auto loc = p::locate(ep, "bucket", "k/x", p::addressing::automatic);
    BOOST_TEST(loc.host == "127.0.0.1:9000");
    BOOST_TEST(loc.path == "/bucket/k/x");
    auto vh = p::locate(p::parse_endpoint("https://minio.local:9000"), "bucket", "k", p::addressing::virtual_host);
    BOOST_TEST(vh.host == "bucket.minio.local:9000");
    BOOST_TEST(vh.path == "/k");
    auto bucket_only = p::locate(ep, "bucket", "", p::addressing::path);
    BOOST_TEST(bucket_only.path == "/bucket");
}

BOOST_AUTO_TEST_SUITE_END()
