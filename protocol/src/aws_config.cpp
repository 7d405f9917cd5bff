// Credentials and region, found the way aws-cli finds them. See aws_config.hpp.
//
// Every message built here names variables, files, profiles and keys, never a
// key's value: the secret and the session token only travel inside
// sigv4::secret_string.
#include "hoist/protocol/aws_config.hpp"

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <utility>

namespace hoist::protocol {

namespace {

constexpr std::string_view env_access_key_id = "AWS_ACCESS_KEY_ID";
constexpr std::string_view env_secret_access_key = "AWS_SECRET_ACCESS_KEY";
constexpr std::string_view env_session_token = "AWS_SESSION_TOKEN";
constexpr std::string_view env_profile = "AWS_PROFILE";
constexpr std::string_view env_region = "AWS_REGION";
constexpr std::string_view env_default_region = "AWS_DEFAULT_REGION";
constexpr std::string_view env_credentials_file = "AWS_SHARED_CREDENTIALS_FILE";
constexpr std::string_view env_config_file = "AWS_CONFIG_FILE";

constexpr std::string_view key_access_key_id = "aws_access_key_id";
constexpr std::string_view key_secret_access_key = "aws_secret_access_key";
constexpr std::string_view key_session_token = "aws_session_token";
constexpr std::string_view key_region = "region";

constexpr std::string_view default_profile = "default";
constexpr std::string_view fallback_region = "us-east-1";

// ---- small string helpers -------------------------------------------------

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v'; }

std::string_view trim(std::string_view s) {
    while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
    while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
    return s;
}

std::string lowercase(std::string_view s) {
    std::string out(s);
    for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return out;
}

std::string in_quotes(std::string_view s) { return "'" + std::string(s) + "'"; }

// ---- INI parsing ----------------------------------------------------------

// A header line; nullptr for a malformed or empty one, so that the keys under
// it are dropped rather than credited to the previous profile.
ini_section* open_section(std::string_view line, ini_file& ini) {
    const auto close = line.find(']');
    if (close == std::string_view::npos) return nullptr;
    const std::string_view name = trim(line.substr(1, close - 1));
    if (name.empty()) return nullptr;
    return &ini[std::string(name)];
}

// "key = value", split at the first '=' so values may contain '=' (tokens do).
void add_key(std::string_view line, ini_section& section) {
    const auto eq = line.find('=');
    if (eq == std::string_view::npos) return;
    const std::string key = lowercase(trim(line.substr(0, eq)));
    if (key.empty()) return;
    section[key] = std::string(trim(line.substr(eq + 1)));
}

// Indented lines are aws-cli's nested settings ("s3 =\n  max_concurrent_requests
// = 20") or continuations; none of them are keys of the profile itself.
// Indented means any leading whitespace, as Python's configparser (aws-cli's)
// measures it: a line led by '\f', '\v' or a stray '\r' used to be taken as
// a key, and trimmed, so "\r[x = 1" made a key "[x" (found by
// tests/fuzz/fuzz_aws_config: parse_ini's result did not survive being
// written out).
bool is_ignored_line(std::string_view line) {
    if (trim(line).empty()) return true;
    const char first = line.front();
    return is_space(first) || first == '#' || first == ';';
}

std::string_view next_line(std::string_view& text) {
    const auto nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    return line;
}

// ---- the environment and file locations -----------------------------------

// Empty counts as unset, as in aws-cli (`export AWS_PROFILE=` disables it).
std::optional<std::string> lookup(const env_lookup& env, std::string_view name) {
    auto value = env(name);
    if (value && value->empty()) return std::nullopt;
    return value;
}

// "~/..." as aws-cli's expanduser does it; left alone when HOME is unknown.
std::string expand_home(std::string path, const env_lookup& env) {
    if (path != "~" && !path.starts_with("~/")) return path;
    const auto home = lookup(env, "HOME");
    if (!home) return path;
    return *home + path.substr(1);
}

// The variable's value, else ~/.aws/<name>; nullopt when neither is known.
std::optional<std::string> file_path(const env_lookup& env, std::string_view var,
                                     std::string_view name) {
    if (auto path = lookup(env, var)) return expand_home(*path, env);
    if (auto home = lookup(env, "HOME")) return *home + "/.aws/" + std::string(name);
    return std::nullopt;
}

// One of the two shared files, as found (or not) on disk.
struct shared_file {
    std::string_view kind;  // "shared credentials file" or "config file"
    std::string_view variable;
    std::optional<std::string> path;  // nullopt: no variable and no HOME
    std::optional<ini_file> ini;      // nullopt: no path, or the file is missing

    std::string describe() const {
        if (!path) return std::string(kind) + " (none: " + std::string(variable) + " and HOME unset)";
        if (!ini) return std::string(kind) + " " + *path + " (missing)";
        return std::string(kind) + " " + *path;
    }
};

shared_file load_file(const env_lookup& env, const file_reader& read, std::string_view kind,
                      std::string_view var, std::string_view name) {
    shared_file file{kind, var, file_path(env, var, name), std::nullopt};
    if (file.path) {
        if (auto text = read(*file.path)) file.ini = parse_ini(*text);
    }
    return file;
}

// ---- profiles --------------------------------------------------------------

// The profile a config-file section describes: "[profile NAME]", or "[default]".
std::optional<std::string_view> config_section_profile(std::string_view section) {
    if (section == default_profile) return default_profile;
    constexpr std::string_view prefix = "profile";
    if (!section.starts_with(prefix) || section.size() == prefix.size()) return std::nullopt;
    if (!is_space(section[prefix.size()])) return std::nullopt;  // "[profiles]" is not one
    return trim(section.substr(prefix.size()));
}

std::optional<ini_section> credentials_section(const shared_file& file, const std::string& name) {
    if (!file.ini) return std::nullopt;
    const auto it = file.ini->find(name);
    if (it == file.ini->end()) return std::nullopt;
    return it->second;
}

// aws-cli accepts both "[default]" and "[profile default]"; map order puts
// "default" first, so "[profile default]" wins key by key.
std::optional<ini_section> config_section(const shared_file& file, const std::string& name) {
    if (!file.ini) return std::nullopt;
    std::optional<ini_section> merged;
    for (const auto& [section, keys] : *file.ini) {
        if (config_section_profile(section) != name) continue;
        if (!merged) merged.emplace();
        for (const auto& [key, value] : keys) (*merged)[key] = value;
    }
    return merged;
}

struct profile {
    std::string name;
    std::string_view origin;  // "--profile", "AWS_PROFILE", or empty when defaulted
    shared_file credentials_file;
    shared_file config_file;
    std::optional<ini_section> in_credentials;
    std::optional<ini_section> in_config;

    std::string label() const { return "profile " + in_quotes(name); }
    std::string files() const { return credentials_file.describe() + ", " + config_file.describe(); }
};

std::pair<std::string, std::string_view> profile_name(const aws_settings& settings,
                                                      const env_lookup& env) {
    if (settings.profile) {
        if (settings.profile->empty()) throw config_error("--profile was given an empty name");
        return {*settings.profile, "--profile"};
    }
    if (auto name = lookup(env, env_profile)) return {*name, env_profile};
    return {std::string(default_profile), {}};
}

// A profile someone named must exist; the implicit "default" may be absent.
profile load_profile(const aws_settings& settings, const env_lookup& env, const file_reader& read) {
    auto [name, origin] = profile_name(settings, env);
    profile p{std::move(name), origin,
              load_file(env, read, "shared credentials file", env_credentials_file, "credentials"),
              load_file(env, read, "config file", env_config_file, "config"), {}, {}};
    p.in_credentials = credentials_section(p.credentials_file, p.name);
    p.in_config = config_section(p.config_file, p.name);
    if (!origin.empty() && !p.in_credentials && !p.in_config)
        throw config_error(p.label() + " (from " + std::string(origin) + ") not found in " + p.files());
    return p;
}

// ---- credentials -----------------------------------------------------------

std::optional<std::string> value_of(const ini_section& section, std::string_view key) {
    const auto it = section.find(std::string(key));
    if (it == section.end() || it->second.empty()) return std::nullopt;
    return it->second;
}

sigv4::credentials make_credentials(std::string id, std::string secret,
                                    std::optional<std::string> token) {
    sigv4::credentials creds;
    creds.access_key_id = std::move(id);
    creds.secret_access_key = sigv4::secret_string(std::move(secret));
    if (token) creds.session_token = sigv4::secret_string(std::move(*token));
    return creds;
}

// Half a key pair is a mistake worth stopping for: falling through to another
// source would sign with keys the user did not mean.
std::optional<sigv4::credentials> environment_credentials(const env_lookup& env) {
    auto id = lookup(env, env_access_key_id);
    auto secret = lookup(env, env_secret_access_key);
    if (!id && !secret) return std::nullopt;
    if (!secret)
        throw config_error(std::string(env_access_key_id) + " is set but " +
                           std::string(env_secret_access_key) + " is not; set both or neither");
    if (!id)
        throw config_error(std::string(env_secret_access_key) + " is set but " +
                           std::string(env_access_key_id) + " is not; set both or neither");
    return make_credentials(std::move(*id), std::move(*secret), lookup(env, env_session_token));
}

// The keys of one section, all from that section: a token from one file with
// keys from another would never sign.
std::optional<sigv4::credentials> section_credentials(const std::optional<ini_section>& section,
                                                      const shared_file& file, const profile& p) {
    if (!section) return std::nullopt;
    auto id = value_of(*section, key_access_key_id);
    auto secret = value_of(*section, key_secret_access_key);
    if (!id && !secret) return std::nullopt;
    if (!id || !secret)
        throw config_error(p.label() + " in " + file.describe() + " has " +
                           std::string(id ? key_access_key_id : key_secret_access_key) + " but no " +
                           std::string(id ? key_secret_access_key : key_access_key_id));
    return make_credentials(std::move(*id), std::move(*secret),
                            value_of(*section, key_session_token));
}

std::string why_no_keys(const std::optional<ini_section>& section, const shared_file& file,
                        const profile& p) {
    if (!file.ini) return file.describe();
    if (!section) return file.describe() + " (no " + p.label() + ")";
    return file.describe() + " (" + p.label() + " has no keys)";
}

std::string nothing_found(const profile& p) {
    const std::string environment =
        p.origin == "--profile"
            ? "environment skipped because --profile was given"
            : "environment (" + std::string(env_access_key_id) + ", " +
                  std::string(env_secret_access_key) + " unset)";
    return "no AWS credentials found for " + p.label() + "; looked in: " + environment + "; " +
           why_no_keys(p.in_credentials, p.credentials_file, p) + "; " +
           why_no_keys(p.in_config, p.config_file, p);
}

std::string source_of(const shared_file& file, const profile& p) {
    return std::string(file.kind) + " " + *file.path + " (" + p.label() + ")";
}

// ---- region ----------------------------------------------------------------

// Region names go into hostnames and the signing scope: lowercase letters,
// digits and dashes only, which also catches a stray inline comment.
std::string validated_region(std::string value, const std::string& origin) {
    bool ok = !value.empty();
    for (char c : value)
        ok = ok && ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    if (!ok)
        throw config_error("region " + in_quotes(value) + " from " + origin +
                           " is invalid: expected lowercase letters, digits and '-', like us-east-1");
    return value;
}

// The credentials file wins key by key, as in aws-cli's merged profile view.
std::optional<std::pair<std::string, std::string>> profile_region(const profile& p) {
    if (p.in_credentials) {
        if (auto r = value_of(*p.in_credentials, key_region))
            return std::pair{*r, source_of(p.credentials_file, p)};
    }
    if (p.in_config) {
        if (auto r = value_of(*p.in_config, key_region))
            return std::pair{*r, source_of(p.config_file, p)};
    }
    return std::nullopt;
}

} // namespace

env_lookup process_environment() {
    return [](std::string_view name) -> std::optional<std::string> {
        const char* value = std::getenv(std::string(name).c_str());
        if (value == nullptr || *value == '\0') return std::nullopt;
        return std::string(value);
    };
}

file_reader filesystem_reader() {
    return [](const std::string& path) -> std::optional<std::string> {
        namespace fs = std::filesystem;
        std::error_code ec;
        const fs::file_status status = fs::status(path, ec);
        // A missing file is normal (no ~/.aws at all); any other failure to
        // look, such as a parent directory we may not search, is not.
        if (ec && status.type() != fs::file_type::not_found)
            throw config_error("cannot access " + path + ": " + ec.message());
        if (!fs::exists(status)) return std::nullopt;
        if (fs::is_directory(status)) throw config_error(path + " is a directory, not a file");
        std::ifstream in(path, std::ios::binary);
        if (!in) throw config_error("cannot open " + path + " for reading");
        std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
        if (in.bad()) throw config_error("cannot read " + path);
        return text;
    };
}

ini_file parse_ini(std::string_view text) {
    if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // UTF-8 BOM from Windows editors
    ini_file ini;
    ini_section* section = nullptr;
    while (!text.empty()) {
        const std::string_view line = next_line(text);
        if (is_ignored_line(line)) continue;
        if (line.front() == '[')
            section = open_section(line, ini);
        else if (section != nullptr)
            add_key(line, *section);
    }
    return ini;
}

resolved_credentials resolve_credentials(const aws_settings& settings, const env_lookup& env,
                                         const file_reader& read) {
    // aws-cli drops the environment provider only for an explicit --profile;
    // AWS_PROFILE is weaker than AWS_ACCESS_KEY_ID.
    if (!settings.profile) {
        if (auto creds = environment_credentials(env)) return {std::move(*creds), "environment"};
    }
    const profile p = load_profile(settings, env, read);
    if (auto creds = section_credentials(p.in_credentials, p.credentials_file, p))
        return {std::move(*creds), source_of(p.credentials_file, p)};
    if (auto creds = section_credentials(p.in_config, p.config_file, p))
        return {std::move(*creds), source_of(p.config_file, p)};
    throw config_error(nothing_found(p));
}

std::string resolve_region(const aws_settings& settings, const env_lookup& env,
                           const file_reader& read) {
    if (settings.region) return validated_region(*settings.region, "--region");
    if (auto r = lookup(env, env_region)) return validated_region(*r, std::string(env_region));
    if (auto r = lookup(env, env_default_region))
        return validated_region(*r, std::string(env_default_region));
    const profile p = load_profile(settings, env, read);
    if (auto r = profile_region(p)) return validated_region(r->first, r->second);
    return std::string(fallback_region);
}

} // namespace hoist::protocol
