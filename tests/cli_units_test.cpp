// hoist's rate parser (tools/cli_units.cpp): the forms --max-bandwidth takes,
// and a specific usage error for everything else.
#include "cli_units.hpp"
#include "json_text.hpp"

#include <boost/json.hpp>

#include <boost/test/unit_test.hpp>

using hoist::cli::parse_rate;
using hoist::cli::usage_error;

BOOST_AUTO_TEST_SUITE(cli_units)

BOOST_AUTO_TEST_CASE(rates_in_bytes_and_bits) {
    const std::pair<const char*, std::uint64_t> cases[] = {
        {"50MB/s", 50'000'000},        {"50MiB/s", 50ull * 1024 * 1024}, {"400Mbit/s", 50'000'000},
        {"1Gbit/s", 125'000'000},      {"20M", 20'000'000},              {"20MB", 20'000'000},
        {"1000000", 1'000'000},        {"1000000/s", 1'000'000},         {"2.5GB/s", 2'500'000'000},
        {"100Mbps", 12'500'000},       {"512KiB/s", 512 * 1024},         {"10KB/s", 10'000},
        {"80kbit/s", 10'000},          {"1.5 MiB/s", 1'572'864},         {"3T", 3'000'000'000'000},
    };
    for (const auto& [text, bytes] : cases) BOOST_TEST_CONTEXT(text) { BOOST_TEST(parse_rate(text, "--max-bandwidth") == bytes); }
}

BOOST_AUTO_TEST_CASE(bad_rates_say_what_is_wrong) {
    auto message = [](const std::string& text) -> std::string {
        try {
            parse_rate(text, "--max-bandwidth");
        } catch (const usage_error& e) {
            return e.what();
        }
        return "(accepted)";
    };
    const std::pair<const char*, const char*> cases[] = {
        {"", "not a rate"},
        {"fast", "not a rate"},
        {"-5MB/s", "not a rate"},
        {"1e9", "unknown unit 'e9'"},
        {"50Mb/s", "bits or bytes? write Mbit/s or MB/s"},
        {"50 MB per second", "unknown unit"},
        {"50XB/s", "unknown unit 'XB'"},
        {"0", "below the smallest cap"},
        {"9KB/s", "below the smallest cap"},
        {"2PB/s", "unknown unit"},
        {"9000TB/s", "more than 1PB/s"},
        {"1.2.3M", "unknown unit '.3M'"},
    };
    for (const auto& [text, why] : cases)
        BOOST_TEST_CONTEXT(text) {
            auto m = message(text);
            BOOST_TEST(m.find(why) != std::string::npos, m);
            BOOST_TEST(m.find("--max-bandwidth '" + std::string(text) + "'") == 0u, m);
        }
}

BOOST_AUTO_TEST_CASE(format_bytes_uses_si_units_with_one_decimal_above_bytes) {
    BOOST_TEST(hoist::cli::format_bytes(0) == "0 B");
    BOOST_TEST(hoist::cli::format_bytes(999) == "999 B");
    BOOST_TEST(hoist::cli::format_bytes(1000) == "1.0 kB");
    BOOST_TEST(hoist::cli::format_bytes(1536) == "1.5 kB");
    BOOST_TEST(hoist::cli::format_bytes(12.34e6) == "12.3 MB");
    BOOST_TEST(hoist::cli::format_bytes(2e9) == "2.0 GB");
    BOOST_TEST(hoist::cli::format_bytes(5e15) == "5000.0 TB");   // TB is the largest unit
}

BOOST_AUTO_TEST_CASE(json_text_writes_doubles_in_plain_decimal_and_the_rest_as_boost_json) {
    using hoist::cli::to_json_text;
    namespace json = boost::json;
    BOOST_TEST(to_json_text(json::value(0.0123)) == "0.0123");
    BOOST_TEST(to_json_text(json::value(94.2)) == "94.2");
    BOOST_TEST(to_json_text(json::value(2.0)) == "2.0");
    BOOST_TEST(to_json_text(json::value(-1.5)) == "-1.5");
    BOOST_TEST(to_json_text(json::value(1e-10)) == "0.0");              // below a nanosecond
    BOOST_TEST(to_json_text(json::value(-1e-10)) == "0.0");
    BOOST_TEST(to_json_text(json::value(1e15)) == "1000000000000000");  // %.17g from 1e15 up
    BOOST_TEST(to_json_text(json::value(std::nan(""))) == "null");
    BOOST_TEST(to_json_text(json::value(42)) == "42");                  // integers untouched
    json::object o{{"k\"ey", "v\n"}, {"a", json::array{1.25, true, nullptr}}, {"n", -3}};
    BOOST_TEST(to_json_text(o) == R"({"k\"ey":"v\n","a":[1.25,true,null],"n":-3})");
    // Round trip: what it writes parses back to the same values.
    json::object back = json::parse(to_json_text(json::object{{"s", 0.000123456789}, {"r", 123456.5}})).as_object();
    BOOST_TEST(back["s"].as_double() == 0.000123457, boost::test_tools::tolerance(1e-12));
    BOOST_TEST(back["r"].as_double() == 123456.5);
}

BOOST_AUTO_TEST_SUITE_END()
