// Tests for outcome classification and Retry-After parsing. The expectations are
// written out independently of the table in classify.cpp, so a changed entry
// there fails here.

#include "hoist/protocol/s3/classify.hpp"

#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace hoist::protocol;
using std::chrono::seconds;

namespace {

// Retry-After as a printable string, so BOOST_TEST can show a mismatch.
std::string show(const std::optional<seconds>& value) {
    return value ? std::to_string(value->count()) + "s" : "none";
}

struct code_case {
    std::string code;
    unsigned status;       // the status S3 sends the code with
    std::string kind;      // expected to_string(outcome_kind)
};
std::ostream& operator<<(std::ostream& os, const code_case& c) {
    return os << c.status << ' ' << c.code;
}

// Every code in the table, with the status S3 documents for it.
const std::vector<code_case> code_cases{
    {"InternalError", 500, "retry"},
    {"RequestTimeout", 400, "retry"},
    {"RequestTimeoutException", 400, "retry"},
    {"RequestTimeTooSkewed", 403, "retry"},
    {"OperationAborted", 409, "retry"},
    {"PriorRequestNotComplete", 400, "retry"},
    {"ServiceUnavailable", 503, "throttle"},
    {"SlowDown", 503, "throttle"},
    {"Throttling", 400, "throttle"},
    {"ThrottlingException", 400, "throttle"},
    {"ThrottledException", 400, "throttle"},
    {"RequestThrottled", 400, "throttle"},
    {"RequestThrottledException", 400, "throttle"},
    {"RequestLimitExceeded", 400, "throttle"},
    {"TooManyRequestsException", 429, "throttle"},
    {"BandwidthLimitExceeded", 400, "throttle"},
    {"AccessDenied", 403, "fatal"},
    {"AccountProblem", 403, "fatal"},
    {"AuthorizationHeaderMalformed", 400, "fatal"},
    {"BadDigest", 400, "retry"},
    {"EntityTooLarge", 400, "fatal"},
    {"EntityTooSmall", 400, "fatal"},
    {"ExpiredToken", 400, "fatal"},
    {"InvalidAccessKeyId", 403, "fatal"},
    {"InvalidArgument", 400, "fatal"},
    {"InvalidBucketName", 400, "fatal"},
    {"InvalidDigest", 400, "fatal"},
    {"InvalidObjectState", 403, "fatal"},
    {"InvalidPart", 400, "fatal"},
    {"InvalidPartOrder", 400, "fatal"},
    {"InvalidRequest", 400, "fatal"},
    {"InvalidToken", 400, "fatal"},
    {"KeyTooLongError", 400, "fatal"},
    {"MalformedXML", 400, "fatal"},
    {"MissingContentLength", 411, "fatal"},
    {"NoSuchBucket", 404, "fatal"},
    {"NoSuchKey", 404, "fatal"},
    {"NoSuchUpload", 404, "fatal"},
    {"PermanentRedirect", 301, "fatal"},
    {"SignatureDoesNotMatch", 403, "fatal"},
    {"XAmzContentSHA256Mismatch", 400, "fatal"},
};

struct status_case {
    unsigned status;
    std::string code;
    std::string kind;
    std::string reason;
};
std::ostream& operator<<(std::ostream& os, const status_case& c) {
    return os << c.status << " '" << c.code << "'";
}

const std::vector<status_case> status_cases{
    // 2xx without a code: success.
    {200, "", "success", "HTTP 200"},
    {204, "", "success", "HTTP 204"},
    {206, "", "success", "HTTP 206"},
    // 200 with a code: the code decides; an unknown one is retried.
    {200, "InternalError", "retry", "200 InternalError"},
    {200, "AccessDenied", "fatal", "200 AccessDenied"},
    {200, "SlowDown", "throttle", "200 SlowDown"},
    {200, "SomethingNew", "retry", "200 SomethingNew"},
    // Throttle statuses.
    {429, "", "throttle", "HTTP 429"},
    {503, "", "throttle", "HTTP 503"},
    {503, "SomethingNew", "throttle", "503 SomethingNew"},
    // Retried statuses.
    {408, "", "retry", "HTTP 408"},
    {500, "", "retry", "HTTP 500"},
    {502, "", "retry", "HTTP 502"},
    {504, "", "retry", "HTTP 504"},
    {501, "", "retry", "HTTP 501"},
    {599, "", "retry", "HTTP 599"},
    {500, "SomethingNew", "retry", "500 SomethingNew"},
    // Other 4xx: fatal.
    {400, "", "fatal", "HTTP 400"},
    {403, "", "fatal", "HTTP 403"},
    {404, "", "fatal", "HTTP 404"},
    {409, "", "fatal", "HTTP 409"},
    {411, "", "fatal", "HTTP 411"},
    {499, "", "fatal", "HTTP 499"},
    {400, "SomethingNew", "fatal", "400 SomethingNew"},
    // The code outranks the status in both directions.
    {400, "RequestTimeout", "retry", "400 RequestTimeout"},
    {403, "RequestTimeTooSkewed", "retry", "403 RequestTimeTooSkewed"},
    {500, "AccessDenied", "fatal", "500 AccessDenied"},
    {503, "InternalError", "retry", "503 InternalError"},
    // 1xx, 3xx and nonsense: fatal.
    {100, "", "fatal", "HTTP 100"},
    {101, "", "fatal", "HTTP 101"},
    {199, "", "fatal", "HTTP 199"},
    {300, "", "fatal", "HTTP 300"},
    {301, "", "fatal", "HTTP 301"},
    {304, "", "fatal", "HTTP 304"},
    {307, "", "fatal", "HTTP 307"},
    {0, "", "fatal", "HTTP 0"},
    {600, "", "fatal", "HTTP 600"},
    {999, "", "fatal", "HTTP 999"},
};

struct transport_case {
    transport_error error;
    std::string kind;
    std::string reason;
};
std::ostream& operator<<(std::ostream& os, const transport_case& c) { return os << c.reason; }

const std::vector<transport_case> transport_cases{
    {transport_error::connection_reset, "retry", "connection reset"},
    {transport_error::connection_refused, "retry", "connection refused"},
    {transport_error::connection_aborted, "retry", "connection aborted"},
    {transport_error::timeout, "retry", "timeout"},
    {transport_error::tls_handshake, "retry", "TLS handshake failed"},
    {transport_error::name_resolution, "retry", "name resolution failed"},
    {transport_error::tls_verification, "fatal", "TLS certificate verification failed"},
    {transport_error::other, "fatal", "transport error"},
};

struct retry_after_case {
    std::string header;
    std::string expected;  // show() of the expected value
};
std::ostream& operator<<(std::ostream& os, const retry_after_case& c) {
    return os << '"' << c.header << '"';
}

const std::vector<retry_after_case> retry_after_cases{
    {"0", "0s"},
    {"1", "1s"},
    {"120", "120s"},
    {"007", "7s"},
    {"3599", "3599s"},
    {"3600", "3600s"},
    {"3601", "3600s"},
    {"86400", "3600s"},
    {"4294967296", "3600s"},
    {"18446744073709551616", "3600s"},
    {"99999999999999999999999999999999999999999999999999", "3600s"},
    {" 5", "5s"},
    {"5 ", "5s"},
    {"\t 30 \t", "30s"},
    {"", "none"},
    {"   ", "none"},
    {"-1", "none"},
    {"+5", "none"},
    {"1.5", "none"},
    {"1e3", "none"},
    {"0x10", "none"},
    {"12 34", "none"},
    {"five", "none"},
    {"5s", "none"},
    {"Wed, 21 Oct 2015 07:28:00 GMT", "none"},
    {"Fri, 31 Dec 1999 23:59:59 GMT", "none"},
};

} // namespace

BOOST_AUTO_TEST_SUITE(protocol_classify)

BOOST_DATA_TEST_CASE(every_table_code_with_its_documented_status, bdata::make(code_cases), c) {
    const auto o = classify(transport_error::none, c.status, c.code);
    BOOST_TEST(to_string(o.kind) == c.kind);
    BOOST_TEST(o.reason == std::to_string(c.status) + " " + c.code);
    BOOST_TEST(show(o.retry_after) == "none");
}

// The code decides whatever the status, including a 200 (S3's error-in-200).
BOOST_DATA_TEST_CASE(every_table_code_outranks_any_status,
                     bdata::make(code_cases) * bdata::make({200u, 400u, 404u, 500u, 503u}), c,
                     status) {
    BOOST_TEST(to_string(classify(transport_error::none, status, c.code).kind) == c.kind);
}

BOOST_DATA_TEST_CASE(status_rules, bdata::make(status_cases), c) {
    const auto o = classify(transport_error::none, c.status, c.code);
    BOOST_TEST(to_string(o.kind) == c.kind);
    BOOST_TEST(o.reason == c.reason);
}

BOOST_AUTO_TEST_CASE(codes_are_case_sensitive) {
    // S3 codes are exact identifiers; a different spelling is an unknown code.
    BOOST_TEST(to_string(classify(transport_error::none, 400, "slowdown").kind) == "fatal");
    BOOST_TEST(to_string(classify(transport_error::none, 200, "internalerror").kind) == "retry");
}

BOOST_DATA_TEST_CASE(transport_errors, bdata::make(transport_cases), c) {
    const auto o = classify(c.error, 0, "");
    BOOST_TEST(to_string(o.kind) == c.kind);
    BOOST_TEST(o.reason == c.reason);
    BOOST_TEST(to_string(c.error) == c.reason);
}

// A transport error decides alone, whatever status or code came with it.
BOOST_DATA_TEST_CASE(transport_error_outranks_status_and_code, bdata::make(transport_cases),
                     c) {
    BOOST_TEST(to_string(classify(c.error, 200, "").kind) == c.kind);
    BOOST_TEST(to_string(classify(c.error, 403, "AccessDenied").kind) == c.kind);
    BOOST_TEST(to_string(classify(c.error, 503, "SlowDown").kind) == c.kind);
    BOOST_TEST(classify(c.error, 503, "SlowDown").reason == c.reason);
}

BOOST_AUTO_TEST_CASE(outcome_kind_names) {
    BOOST_TEST(to_string(outcome_kind::success) == "success");
    BOOST_TEST(to_string(outcome_kind::retry) == "retry");
    BOOST_TEST(to_string(outcome_kind::throttle) == "throttle");
    BOOST_TEST(to_string(outcome_kind::fatal) == "fatal");
    BOOST_TEST(to_string(transport_error::none) == "no transport error");
}

BOOST_DATA_TEST_CASE(retry_after_parsing, bdata::make(retry_after_cases), c) {
    BOOST_TEST(show(parse_retry_after(c.header)) == c.expected);
}

BOOST_AUTO_TEST_CASE(retry_after_is_attached_only_to_retried_outcomes) {
    const std::optional<std::string_view> header{"17"};
    BOOST_TEST(show(classify(transport_error::none, 503, "SlowDown", header).retry_after) ==
               "17s");
    BOOST_TEST(show(classify(transport_error::none, 500, "", header).retry_after) == "17s");
    BOOST_TEST(show(classify(transport_error::none, 429, "", header).retry_after) == "17s");
    BOOST_TEST(show(classify(transport_error::timeout, 0, "", header).retry_after) == "17s");
    // Not for success or fatal outcomes.
    BOOST_TEST(show(classify(transport_error::none, 200, "", header).retry_after) == "none");
    BOOST_TEST(show(classify(transport_error::none, 403, "AccessDenied", header).retry_after) ==
               "none");
    BOOST_TEST(show(classify(transport_error::tls_verification, 0, "", header).retry_after) ==
               "none");
    // Not when the header is absent or unparsable.
    BOOST_TEST(show(classify(transport_error::none, 503, "SlowDown").retry_after) == "none");
    const std::optional<std::string_view> date{"Wed, 21 Oct 2015 07:28:00 GMT"};
    BOOST_TEST(show(classify(transport_error::none, 503, "SlowDown", date).retry_after) ==
               "none");
    const std::optional<std::string_view> huge{"100000"};
    BOOST_TEST(show(classify(transport_error::none, 503, "", huge).retry_after) == "3600s");
}

BOOST_AUTO_TEST_SUITE_END()
