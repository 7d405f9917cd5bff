// aws_config: INI parsing and aws-cli's rules for credentials and region, with
// the environment and the files injected from in-memory maps.
#include "hoist/protocol/aws_config.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

using namespace hoist::protocol;

namespace {

// Distinct values per source, so a test can tell which one was picked, and so
// every error message can be checked for all of them.
const std::string env_secret = "envSECRETwJalrXUtnFEMI/K7MDENG+bPxRfiCY";
const std::string env_token = "envTOKENFwoGZXIvYXdzEJr//////////wEaDA==";
const std::string cred_secret = "credSECRETje7MtGbClwBF/2Zp9Utk/h3yCo8nvb";
const std::string cred_token = "credTOKENIQoJb3JpZ2luX2VjEJr=/abc==";
const std::string conf_secret = "confSECRETkS8r1aR9Cq+DdTEXAMPLEKEY0000";
const std::string dev_secret = "devSECRETAbCdEfGhIjKlMnOpQrStUvWxYz0123";
const std::vector<std::string> all_secrets = {env_secret, env_token,  cred_secret,
                                              cred_token, conf_secret, dev_secret};

const std::string home = "/home/u";
const std::string cred_path = "/home/u/.aws/credentials";
const std::string conf_path = "/home/u/.aws/config";

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

// A process environment and a file system, both plain maps.
struct world {
    std::map<std::string, std::string> env{{"HOME", home}};
    std::map<std::string, std::string> files;
    std::vector<std::string> reads;

    env_lookup env_fn() {
        return [this](std::string_view name) -> std::optional<std::string> {
            auto it = env.find(std::string(name));
            if (it == env.end()) return std::nullopt;
            return it->second;
        };
    }
    file_reader files_fn() {
        return [this](const std::string& path) -> std::optional<std::string> {
            reads.push_back(path);
            auto it = files.find(path);
            if (it == files.end()) return std::nullopt;
            return it->second;
        };
    }
    void env_keys(const std::string& id = "AKIAENV", const std::string& secret = env_secret) {
        env["AWS_ACCESS_KEY_ID"] = id;
        env["AWS_SECRET_ACCESS_KEY"] = secret;
    }
    resolved_credentials creds(aws_settings s = {}) {
        return resolve_credentials(s, env_fn(), files_fn());
    }
    std::string region(aws_settings s = {}) { return resolve_region(s, env_fn(), files_fn()); }

    // The config_error `f` throws; fails the test when none is thrown or when
    // the message leaks any secret or token this file uses.
    template <class F>
    std::string error_of(F f) {
        try {
            f();
        } catch (const config_error& e) {
            const std::string msg = e.what();
            for (const auto& secret : all_secrets)
                BOOST_TEST(!contains(msg, secret), "message leaks a secret: " << msg);
            return msg;
        }
        BOOST_FAIL("expected config_error");
        return {};
    }
    std::string creds_error(aws_settings s = {}) { return error_of([&] { creds(s); }); }
    std::string region_error(aws_settings s = {}) { return error_of([&] { region(s); }); }
};

aws_settings with_profile(std::string name) { return aws_settings{std::move(name), std::nullopt}; }
aws_settings with_region(std::string name) { return aws_settings{std::nullopt, std::move(name)}; }

const std::string cred_file_default = "[default]\n"
                                      "aws_access_key_id = AKIACRED\n"
                                      "aws_secret_access_key = " + cred_secret + "\n";
const std::string conf_file_default = "[default]\n"
                                      "region = eu-west-1\n"
                                      "aws_access_key_id = AKIACONF\n"
                                      "aws_secret_access_key = " + conf_secret + "\n";
const std::string conf_file_dev = "[profile dev]\n"
                                  "region = ap-south-1\n"
                                  "aws_access_key_id = AKIADEV\n"
                                  "aws_secret_access_key = " + dev_secret + "\n";

} // namespace

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(parse_ini_suite)

BOOST_AUTO_TEST_CASE(sections_keys_and_whitespace) {
    ini_file ini = parse_ini("[default]\n"
                             "region=us-west-2\n"
                             "  \n"
                             "Output   =   json  \n"
                             "\tkey_before_tab = ignored\n"
                             "[  profile dev  ]\n"
                             "AWS_Access_Key_ID\t= AKIA\n");
    BOOST_TEST(ini.size() == 2u);
    BOOST_TEST(ini["default"]["region"] == "us-west-2");
    BOOST_TEST(ini["default"]["output"] == "json");
    BOOST_TEST(ini["default"].size() == 2u);
    BOOST_TEST(ini.count("profile dev") == 1u);
    BOOST_TEST(ini["profile dev"]["aws_access_key_id"] == "AKIA");
}

BOOST_AUTO_TEST_CASE(comments_are_skipped) {
    ini_file ini = parse_ini("# leading comment\n"
                             "; another = not a key\n"
                             "[default]\n"
                             "# region = wrong-1\n"
                             "; region = wrong-2\n"
                             "region = us-east-2\n");
    BOOST_TEST(ini.size() == 1u);
    BOOST_TEST(ini["default"].size() == 1u);
    BOOST_TEST(ini["default"]["region"] == "us-east-2");
}

BOOST_AUTO_TEST_CASE(crlf_line_endings) {
    ini_file ini = parse_ini("[default]\r\nregion = eu-north-1\r\n\r\n[other]\r\nk = v\r\n");
    BOOST_TEST(ini["default"]["region"] == "eu-north-1");
    BOOST_TEST(ini["other"]["k"] == "v");
    BOOST_TEST(ini.count("other\r") == 0u);
}

BOOST_AUTO_TEST_CASE(values_may_contain_equals) {
    ini_file ini = parse_ini("[default]\naws_session_token = abc=def==\n");
    BOOST_TEST(ini["default"]["aws_session_token"] == "abc=def==");
}

BOOST_AUTO_TEST_CASE(nested_subsections_are_skipped) {
    ini_file ini = parse_ini("[default]\n"
                             "s3 =\n"
                             "  max_concurrent_requests = 20\n"
                             "  region = not-this-one\n"
                             "region = eu-west-3\n");
    BOOST_TEST(ini["default"]["region"] == "eu-west-3");
    BOOST_TEST(ini["default"].count("max_concurrent_requests") == 0u);
    BOOST_TEST(ini["default"]["s3"] == "");
}

BOOST_AUTO_TEST_CASE(later_duplicates_win) {
    ini_file ini = parse_ini("[a]\nk = 1\nx = keep\n[b]\nk = b\n[a]\nk = 2\n");
    BOOST_TEST(ini["a"]["k"] == "2");
    BOOST_TEST(ini["a"]["x"] == "keep");
    BOOST_TEST(ini["b"]["k"] == "b");
}

// Found by fuzz_aws_config: "\r[rgion = us-east-1" (a stray CR before the
// line) was read as the key "[rgion", which no INI file can hold.
BOOST_AUTO_TEST_CASE(lines_led_by_any_whitespace_are_indented) {
    ini_file ini = parse_ini("[default]\n"
                             "\r[rgion = us-east-1\n"
                             "\fregion = wrong-1\n"
                             "\vregion = wrong-2\n"
                             "region = eu-west-3\n");
    BOOST_TEST(ini.size() == 1u);
    BOOST_TEST(ini["default"].size() == 1u);
    BOOST_TEST(ini["default"]["region"] == "eu-west-3");
}

BOOST_AUTO_TEST_CASE(stray_lines_do_not_land_in_a_profile) {
    ini_file ini = parse_ini("orphan = 1\n"
                             "[good]\nk = v\n"
                             "[broken\nstolen = yes\n"
                             "[]\nalso = no\n"
                             "[good2]\nno equals sign here\n=novalue\n");
    BOOST_TEST(ini.size() == 2u);
    BOOST_TEST(ini["good"].size() == 1u);
    BOOST_TEST(ini["good2"].empty());
}

BOOST_AUTO_TEST_CASE(bom_empty_and_unterminated) {
    BOOST_TEST(parse_ini("").empty());
    BOOST_TEST(parse_ini("\n\n").empty());
    ini_file ini = parse_ini("\xEF\xBB\xBF[default]\nregion = sa-east-1");
    BOOST_TEST(ini["default"]["region"] == "sa-east-1");
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_FIXTURE_TEST_SUITE(credentials_suite, world)

BOOST_AUTO_TEST_CASE(environment_keys) {
    env_keys();
    resolved_credentials r = creds();
    BOOST_TEST(r.source == "environment");
    BOOST_TEST(r.creds.access_key_id == "AKIAENV");
    BOOST_TEST(r.creds.secret_access_key.reveal() == env_secret);
    BOOST_TEST(r.creds.session_token.empty());
    BOOST_TEST(reads.empty());  // no file is needed when the environment decides
}

BOOST_AUTO_TEST_CASE(environment_session_token) {
    env_keys();
    env["AWS_SESSION_TOKEN"] = env_token;
    BOOST_TEST(creds().creds.session_token.reveal() == env_token);
}

BOOST_AUTO_TEST_CASE(environment_beats_files) {
    env_keys();
    files[cred_path] = cred_file_default;
    files[conf_path] = conf_file_default;
    BOOST_TEST(creds().source == "environment");
}

BOOST_AUTO_TEST_CASE(empty_environment_values_are_unset) {
    env_keys("", "");
    env["AWS_PROFILE"] = "";
    files[cred_path] = cred_file_default;
    resolved_credentials r = creds();
    BOOST_TEST(r.creds.access_key_id == "AKIACRED");
}

BOOST_AUTO_TEST_CASE(key_id_without_secret) {
    env["AWS_ACCESS_KEY_ID"] = "AKIAENV";
    files[cred_path] = cred_file_default;  // must not be used as a silent fallback
    std::string msg = creds_error();
    BOOST_TEST(contains(msg, "AWS_SECRET_ACCESS_KEY"));
    BOOST_TEST(contains(msg, "is not"));
}

BOOST_AUTO_TEST_CASE(secret_without_key_id) {
    env["AWS_SECRET_ACCESS_KEY"] = env_secret;
    std::string msg = creds_error();
    BOOST_TEST(contains(msg, "AWS_ACCESS_KEY_ID is not"));
}

BOOST_AUTO_TEST_CASE(aws_profile_does_not_beat_environment_keys) {
    env_keys();
    env["AWS_PROFILE"] = "dev";
    files[conf_path] = conf_file_dev;
    BOOST_TEST(creds().source == "environment");
}

BOOST_AUTO_TEST_CASE(explicit_profile_beats_environment_keys) {
    env_keys();
    files[conf_path] = conf_file_dev;
    resolved_credentials r = creds(with_profile("dev"));
    BOOST_TEST(r.creds.access_key_id == "AKIADEV");
    BOOST_TEST(r.creds.secret_access_key.reveal() == dev_secret);
    BOOST_TEST(r.source == "config file " + conf_path + " (profile 'dev')");
}

BOOST_AUTO_TEST_CASE(explicit_profile_ignores_half_set_environment) {
    env["AWS_ACCESS_KEY_ID"] = "AKIAENV";
    files[conf_path] = conf_file_dev;
    BOOST_TEST(creds(with_profile("dev")).creds.access_key_id == "AKIADEV");
}

BOOST_AUTO_TEST_CASE(default_profile_from_credentials_file) {
    files[cred_path] = cred_file_default;
    resolved_credentials r = creds();
    BOOST_TEST(r.creds.access_key_id == "AKIACRED");
    BOOST_TEST(r.creds.secret_access_key.reveal() == cred_secret);
    BOOST_TEST(r.source == "shared credentials file " + cred_path + " (profile 'default')");
}

BOOST_AUTO_TEST_CASE(credentials_file_beats_config_file) {
    files[cred_path] = cred_file_default;
    files[conf_path] = conf_file_default;
    BOOST_TEST(creds().creds.access_key_id == "AKIACRED");
}

BOOST_AUTO_TEST_CASE(keys_come_from_one_file_only) {
    // A session token in the config file must not be paired with long-term
    // keys from the credentials file.
    files[cred_path] = cred_file_default;
    files[conf_path] = "[default]\naws_session_token = " + cred_token + "\n";
    resolved_credentials r = creds();
    BOOST_TEST(r.creds.access_key_id == "AKIACRED");
    BOOST_TEST(r.creds.session_token.empty());
}

BOOST_AUTO_TEST_CASE(config_file_default_section) {
    files[conf_path] = conf_file_default;
    resolved_credentials r = creds();
    BOOST_TEST(r.creds.access_key_id == "AKIACONF");
    BOOST_TEST(r.creds.secret_access_key.reveal() == conf_secret);
    BOOST_TEST(r.source == "config file " + conf_path + " (profile 'default')");
}

BOOST_AUTO_TEST_CASE(config_file_profile_default_section) {
    files[conf_path] = "[profile default]\naws_access_key_id = AKIAPD\n"
                       "aws_secret_access_key = " + conf_secret + "\n";
    BOOST_TEST(creds().creds.access_key_id == "AKIAPD");
}

BOOST_AUTO_TEST_CASE(credentials_section_without_keys_falls_to_config) {
    files[cred_path] = "[default]\nregion = us-west-1\n";
    files[conf_path] = conf_file_default;
    BOOST_TEST(creds().creds.access_key_id == "AKIACONF");
}

BOOST_AUTO_TEST_CASE(session_token_from_file) {
    files[cred_path] = cred_file_default + "aws_session_token = " + cred_token + "\n";
    BOOST_TEST(creds().creds.session_token.reveal() == cred_token);
}

BOOST_AUTO_TEST_CASE(aws_profile_selects_profile) {
    env["AWS_PROFILE"] = "dev";
    files[cred_path] = cred_file_default;
    files[conf_path] = conf_file_dev;
    BOOST_TEST(creds().creds.access_key_id == "AKIADEV");
}

BOOST_AUTO_TEST_CASE(explicit_profile_beats_aws_profile) {
    env["AWS_PROFILE"] = "dev";
    files[cred_path] = cred_file_default;
    files[conf_path] = conf_file_dev;
    BOOST_TEST(creds(with_profile("default")).creds.access_key_id == "AKIACRED");
}

BOOST_AUTO_TEST_CASE(named_profile_in_credentials_file) {
    files[cred_path] = cred_file_default + "[dev]\naws_access_key_id = AKIACREDDEV\n"
                                           "aws_secret_access_key = " + dev_secret + "\n";
    BOOST_TEST(creds(with_profile("dev")).creds.access_key_id == "AKIACREDDEV");
}

BOOST_AUTO_TEST_CASE(section_naming_differs_between_files) {
    // The config file needs "profile "; the credentials file takes names as is.
    files[conf_path] = "[dev]\naws_access_key_id = AKIAX\naws_secret_access_key = " + dev_secret + "\n";
    files[cred_path] = "[profile dev]\naws_access_key_id = AKIAY\naws_secret_access_key = " +
                       dev_secret + "\n";
    std::string msg = creds_error(with_profile("dev"));
    BOOST_TEST(contains(msg, "profile 'dev'"));
    BOOST_TEST(contains(msg, "not found"));
    BOOST_TEST(creds(with_profile("profile dev")).creds.access_key_id == "AKIAY");
}

BOOST_AUTO_TEST_CASE(uppercase_keys_in_files) {
    files[cred_path] = "[default]\nAWS_ACCESS_KEY_ID = AKIAUP\nAWS_SECRET_ACCESS_KEY = " +
                       cred_secret + "\n";
    BOOST_TEST(creds().creds.access_key_id == "AKIAUP");
}

BOOST_AUTO_TEST_CASE(crlf_credentials_file) {
    files[cred_path] = "[default]\r\naws_access_key_id = AKIACRLF\r\naws_secret_access_key = " +
                       cred_secret + "\r\n";
    resolved_credentials r = creds();
    BOOST_TEST(r.creds.access_key_id == "AKIACRLF");
    BOOST_TEST(r.creds.secret_access_key.reveal() == cred_secret);  // no trailing '\r'
}

BOOST_AUTO_TEST_CASE(explicit_profile_not_found) {
    files[cred_path] = cred_file_default;
    files[conf_path] = conf_file_dev;
    std::string msg = creds_error(with_profile("nope"));
    BOOST_TEST(contains(msg, "profile 'nope'"));
    BOOST_TEST(contains(msg, "not found in"));
    BOOST_TEST(contains(msg, cred_path));
    BOOST_TEST(contains(msg, conf_path));
}

BOOST_AUTO_TEST_CASE(aws_profile_not_found) {
    env["AWS_PROFILE"] = "nope";
    files[cred_path] = cred_file_default;
    std::string msg = creds_error();
    BOOST_TEST(contains(msg, "profile 'nope'"));
    BOOST_TEST(contains(msg, "AWS_PROFILE"));
    BOOST_TEST(contains(msg, conf_path + " (missing)"));
}

BOOST_AUTO_TEST_CASE(explicit_default_must_exist_too) {
    std::string msg = creds_error(with_profile("default"));
    BOOST_TEST(contains(msg, "profile 'default'"));
    BOOST_TEST(contains(msg, "not found in"));
}

BOOST_AUTO_TEST_CASE(empty_explicit_profile) {
    BOOST_TEST(contains(creds_error(with_profile("")), "--profile"));
}

BOOST_AUTO_TEST_CASE(no_credentials_anywhere) {
    std::string msg = creds_error();
    BOOST_TEST(contains(msg, "no AWS credentials found"));
    BOOST_TEST(contains(msg, "AWS_ACCESS_KEY_ID"));
    BOOST_TEST(contains(msg, "AWS_SECRET_ACCESS_KEY"));
    BOOST_TEST(contains(msg, cred_path));
    BOOST_TEST(contains(msg, conf_path));
}

BOOST_AUTO_TEST_CASE(profile_without_keys) {
    files[cred_path] = "[other]\naws_access_key_id = AKIAO\naws_secret_access_key = " +
                       cred_secret + "\n";
    files[conf_path] = "[default]\nregion = eu-west-1\n";
    std::string msg = creds_error();
    BOOST_TEST(contains(msg, "no AWS credentials found for profile 'default'"));
    BOOST_TEST(contains(msg, cred_path + " (no profile 'default')"));
    BOOST_TEST(contains(msg, conf_path + " (profile 'default' has no keys)"));
}

BOOST_AUTO_TEST_CASE(explicit_profile_without_keys_says_environment_skipped) {
    env_keys();
    files[conf_path] = "[profile dev]\nregion = eu-west-1\n";
    std::string msg = creds_error(with_profile("dev"));
    BOOST_TEST(contains(msg, "environment skipped because --profile was given"));
}

BOOST_AUTO_TEST_CASE(key_id_without_secret_in_profile) {
    files[cred_path] = "[default]\naws_access_key_id = AKIAHALF\naws_session_token = " +
                       cred_token + "\n";
    files[conf_path] = conf_file_default;  // complete, but must not be used
    std::string msg = creds_error();
    BOOST_TEST(contains(msg, "profile 'default'"));
    BOOST_TEST(contains(msg, cred_path));
    BOOST_TEST(contains(msg, "no aws_secret_access_key"));
}

BOOST_AUTO_TEST_CASE(secret_without_key_id_in_profile) {
    files[conf_path] = "[profile dev]\naws_secret_access_key = " + dev_secret + "\n";
    std::string msg = creds_error(with_profile("dev"));
    BOOST_TEST(contains(msg, "profile 'dev'"));
    BOOST_TEST(contains(msg, "no aws_access_key_id"));
}

BOOST_AUTO_TEST_CASE(file_locations_from_environment) {
    env["AWS_SHARED_CREDENTIALS_FILE"] = "/etc/hoist/creds";
    env["AWS_CONFIG_FILE"] = "/etc/hoist/conf";
    files[cred_path] = cred_file_default;  // the home files are no longer read
    files["/etc/hoist/conf"] = conf_file_default;
    resolved_credentials r = creds();
    BOOST_TEST(r.creds.access_key_id == "AKIACONF");
    BOOST_TEST(r.source == "config file /etc/hoist/conf (profile 'default')");
    BOOST_TEST((reads == std::vector<std::string>{"/etc/hoist/creds", "/etc/hoist/conf"}));
}

BOOST_AUTO_TEST_CASE(tilde_in_file_variable) {
    env["AWS_SHARED_CREDENTIALS_FILE"] = "~/alt/credentials";
    files["/home/u/alt/credentials"] = cred_file_default;
    BOOST_TEST(creds().creds.access_key_id == "AKIACRED");
}

BOOST_AUTO_TEST_CASE(no_home_skips_default_files) {
    env.erase("HOME");
    std::string msg = creds_error();
    BOOST_TEST(reads.empty());
    BOOST_TEST(contains(msg, "AWS_SHARED_CREDENTIALS_FILE and HOME unset"));
    BOOST_TEST(contains(msg, "AWS_CONFIG_FILE and HOME unset"));

    env["AWS_CONFIG_FILE"] = "/cfg";
    files["/cfg"] = conf_file_default;
    BOOST_TEST(creds().creds.access_key_id == "AKIACONF");
}

BOOST_AUTO_TEST_CASE(reader_errors_propagate) {
    file_reader failing = [](const std::string& path) -> std::optional<std::string> {
        throw config_error("cannot read " + path);
    };
    BOOST_CHECK_THROW(resolve_credentials({}, env_fn(), failing), config_error);
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_FIXTURE_TEST_SUITE(region_suite, world)

BOOST_AUTO_TEST_CASE(fallback_is_us_east_1) { BOOST_TEST(region() == "us-east-1"); }

BOOST_AUTO_TEST_CASE(precedence_chain) {
    files[conf_path] = conf_file_default;  // eu-west-1
    BOOST_TEST(region() == "eu-west-1");
    env["AWS_DEFAULT_REGION"] = "eu-central-1";
    BOOST_TEST(region() == "eu-central-1");
    env["AWS_REGION"] = "ca-central-1";
    BOOST_TEST(region() == "ca-central-1");
    BOOST_TEST(region(with_region("us-gov-west-1")) == "us-gov-west-1");
}

BOOST_AUTO_TEST_CASE(empty_environment_values_are_unset) {
    env["AWS_REGION"] = "";
    env["AWS_DEFAULT_REGION"] = "";
    files[conf_path] = conf_file_default;
    BOOST_TEST(region() == "eu-west-1");
}

BOOST_AUTO_TEST_CASE(named_profile_region) {
    files[conf_path] = conf_file_default + conf_file_dev;
    BOOST_TEST(region(with_profile("dev")) == "ap-south-1");
    env["AWS_PROFILE"] = "dev";
    BOOST_TEST(region() == "ap-south-1");
    BOOST_TEST(region(with_profile("default")) == "eu-west-1");
}

BOOST_AUTO_TEST_CASE(credentials_file_region_wins) {
    files[cred_path] = "[default]\nregion = me-south-1\n";
    files[conf_path] = conf_file_default;
    BOOST_TEST(region() == "me-south-1");
}

BOOST_AUTO_TEST_CASE(profile_without_region_falls_back) {
    files[conf_path] = "[default]\noutput = json\nregion =\n";
    BOOST_TEST(region() == "us-east-1");
}

BOOST_AUTO_TEST_CASE(missing_named_profile) {
    std::string msg = region_error(with_profile("nope"));
    BOOST_TEST(contains(msg, "profile 'nope'"));
    // Not needed, so not an error, when the region is given another way.
    BOOST_TEST(region(aws_settings{"nope", "eu-west-2"}) == "eu-west-2");
    env["AWS_REGION"] = "eu-west-2";
    BOOST_TEST(region(with_profile("nope")) == "eu-west-2");
}

BOOST_AUTO_TEST_CASE(invalid_region_values) {
    for (const char* bad : {"", "US-EAST-1", "us east 1", "us-east-1\t", "eu_west_1", "é"}) {
        BOOST_TEST_CONTEXT("region '" << bad << "'") {
            BOOST_TEST(contains(region_error(with_region(bad)), "--region"));
        }
    }
    env["AWS_REGION"] = "Frankfurt";
    BOOST_TEST(contains(region_error(), "AWS_REGION"));
    env.erase("AWS_REGION");
    env["AWS_DEFAULT_REGION"] = "eu/central";
    BOOST_TEST(contains(region_error(), "AWS_DEFAULT_REGION"));
    env.erase("AWS_DEFAULT_REGION");
    // aws-cli keeps inline comments in the value; the validation catches it.
    files[conf_path] = "[default]\nregion = eu-west-1 # Ireland\n";
    std::string msg = region_error();
    BOOST_TEST(contains(msg, conf_path));
}

BOOST_AUTO_TEST_SUITE_END()

// ---------------------------------------------------------------------------
BOOST_AUTO_TEST_SUITE(real_environment_suite)

BOOST_AUTO_TEST_CASE(process_environment_reads_getenv) {
    env_lookup env = process_environment();
    ::setenv("HOIST_AWS_CONFIG_TEST_SET", "value=1", 1);
    ::setenv("HOIST_AWS_CONFIG_TEST_EMPTY", "", 1);
    ::unsetenv("HOIST_AWS_CONFIG_TEST_UNSET");
    BOOST_TEST(env("HOIST_AWS_CONFIG_TEST_SET").value_or("<none>") == "value=1");
    BOOST_TEST(!env("HOIST_AWS_CONFIG_TEST_EMPTY").has_value());
    BOOST_TEST(!env("HOIST_AWS_CONFIG_TEST_UNSET").has_value());
    ::unsetenv("HOIST_AWS_CONFIG_TEST_SET");
    ::unsetenv("HOIST_AWS_CONFIG_TEST_EMPTY");
}

// A scratch directory, removed afterwards.
struct scratch_dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("hoist_aws_config_test_" + std::to_string(::getpid()));
    scratch_dir() { std::filesystem::create_directories(path); }
    ~scratch_dir() {
        std::error_code ec;
        std::filesystem::permissions(path / "locked", std::filesystem::perms::owner_all, ec);
        std::filesystem::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) {
        std::ofstream(path / name, std::ios::binary) << text;
        return (path / name).string();
    }
};

BOOST_FIXTURE_TEST_CASE(filesystem_reader_reads_files, scratch_dir) {
    file_reader read = filesystem_reader();
    const std::string text = "[default]\r\nregion = eu-west-1\r\n";
    BOOST_TEST(read(write("config", text)).value_or("<none>") == text);
    BOOST_TEST(read(write("empty", "")).value_or("<none>") == "");
}

BOOST_FIXTURE_TEST_CASE(filesystem_reader_missing_is_nullopt, scratch_dir) {
    file_reader read = filesystem_reader();
    BOOST_TEST(!read((path / "absent").string()).has_value());
    BOOST_TEST(!read((path / "absent_dir" / "config").string()).has_value());
    // A path "under" a regular file (ENOTDIR) does not exist either.
    BOOST_TEST(!read(write("plain", "x") + "/config").has_value());
}

BOOST_FIXTURE_TEST_CASE(filesystem_reader_directory_is_an_error, scratch_dir) {
    file_reader read = filesystem_reader();
    std::filesystem::create_directory(path / "dir");
    BOOST_CHECK_THROW(read((path / "dir").string()), config_error);
}

BOOST_FIXTURE_TEST_CASE(filesystem_reader_unreadable_is_an_error, scratch_dir) {
    if (::geteuid() == 0) {
        BOOST_TEST_MESSAGE("skipped: root can read files without read permission");
        return;
    }
    file_reader read = filesystem_reader();
    const std::string file = write("secret_config", "[default]\n");
    std::filesystem::permissions(file, std::filesystem::perms::none);
    BOOST_CHECK_THROW(read(file), config_error);
    std::filesystem::create_directory(path / "locked");
    const std::string inside = write("locked/config", "[default]\n");
    std::filesystem::permissions(path / "locked", std::filesystem::perms::none);
    BOOST_CHECK_THROW(read(inside), config_error);
}

BOOST_AUTO_TEST_SUITE_END()
