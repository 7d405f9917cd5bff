// Credentials and region, found the way aws-cli finds them.
//
// Credentials: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
// from the environment; else the profile's keys in the shared credentials file
// (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials), else in the config
// file (AWS_CONFIG_FILE, default ~/.aws/config, sections "[profile NAME]" and
// "[default]"). The profile is --profile, else AWS_PROFILE, else "default".
// Region: --region, AWS_REGION, AWS_DEFAULT_REGION, the profile's `region` in
// the config file, else us-east-1.
//
// The environment and file reading are injected, so the rules are unit-tested
// without touching the real environment or home directory.
#pragma once

#include "hoist/sigv4/credentials.hpp"

#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace hoist::protocol {

// Bad or missing configuration: no credentials anywhere, a named profile that
// does not exist, a half-set pair of environment variables, an unreadable file.
// what() names the source but never a secret value.
class config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

// name -> value; nullopt when unset. Empty values count as unset, as in aws-cli.
using env_lookup = std::function<std::optional<std::string>(std::string_view)>;
// path -> contents; nullopt when the file does not exist. Throws config_error
// when it exists but cannot be read.
using file_reader = std::function<std::optional<std::string>(const std::string&)>;

env_lookup process_environment();   // getenv
file_reader filesystem_reader();    // std::ifstream

// An INI file as aws-cli reads it: "[section]" headers, "key = value" lines,
// '#' and ';' comment lines, keys lowercased. Later duplicates win.
using ini_section = std::map<std::string, std::string>;
using ini_file = std::map<std::string, ini_section>;
ini_file parse_ini(std::string_view text);

struct aws_settings {
    std::optional<std::string> profile;  // --profile
    std::optional<std::string> region;   // --region
};

struct resolved_credentials {
    sigv4::credentials creds;
    std::string source;   // "environment", "shared credentials file (profile NAME)", ...
};

// Throws config_error when no complete credentials are found, with a message
// that lists where it looked.
resolved_credentials resolve_credentials(const aws_settings&, const env_lookup&, const file_reader&);
std::string resolve_region(const aws_settings&, const env_lookup&, const file_reader&);

} // namespace hoist::protocol
