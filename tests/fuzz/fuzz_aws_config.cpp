// The AWS shared config and credentials files and the environment
// (protocol/aws_config.hpp), as `hoist cp` and `hoist serve` read them.
//
// Input: three pieces separated by "\x1e" (no INI file contains it):
//   environment  lines NAME=VALUE (AWS_PROFILE, AWS_ACCESS_KEY_ID, HOME, ...);
//                "--profile=NAME" and "--region=NAME" lines set the options
//   credentials  the shared credentials file (absent piece: no such file)
//   config       the config file (absent piece: no such file)
// Invariants beyond "no crash": only config_error escapes; parse_ini's result,
// written out again as INI, parses to the same; resolved credentials are
// complete and a resolved region is [a-z0-9-]+; no secret (secret key,
// session token, from a file or the environment) reaches an error message or
// the credentials' source, checked by resolving again with every secret
// replaced by a marker and looking for the marker.
#include "fuzz_check.hpp"

#include "hoist/protocol/aws_config.hpp"

#include <map>
#include <optional>
#include <string>

namespace {

namespace p = hoist::protocol;

constexpr std::string_view secret_marker = "Zq7!SECRET!Xj9?";

std::string write_ini(const p::ini_file& ini, bool mark_secrets) {
    std::string out;
    for (const auto& [name, keys] : ini) {
        out += "[" + name + "]\n";
        for (const auto& [key, value] : keys) {
            const bool secret = key == "aws_secret_access_key" || key == "aws_session_token";
            out += key + " = " + (mark_secrets && secret && !value.empty() ? std::string(secret_marker) : value) + "\n";
        }
    }
    return out;
}

struct inputs {
    std::map<std::string, std::string, std::less<>> env;
    p::aws_settings settings;
    std::optional<std::string> credentials;
    std::optional<std::string> config;

    p::env_lookup env_fn() const {
        return [this](std::string_view name) -> std::optional<std::string> {
            const auto it = env.find(name);
            if (it == env.end() || it->second.empty()) return std::nullopt;
            return it->second;
        };
    }
    // Whatever the paths resolve to, a name with "credentials" in it reads the
    // credentials piece and any other the config piece: the path rules are the
    // code under test, the files are the input.
    p::file_reader reader() const {
        return [this](const std::string& path) -> std::optional<std::string> {
            return path.find("credentials") != std::string::npos ? credentials : config;
        };
    }
};

struct outcome {
    std::string credentials;   // source, or the error message
    std::string region;        // region, or the error message
    bool have_credentials = false;
};

outcome resolve(const inputs& in) {
    outcome out;
    try {
        const p::resolved_credentials r = p::resolve_credentials(in.settings, in.env_fn(), in.reader());
        HOIST_FUZZ_CHECK(!r.creds.access_key_id.empty() && !r.creds.secret_access_key.empty());
        HOIST_FUZZ_CHECK(!r.source.empty());
        out.credentials = r.source + " " + r.creds.describe();
        out.have_credentials = true;
    } catch (const p::config_error& e) {
        out.credentials = e.what();
        HOIST_FUZZ_CHECK(!out.credentials.empty());
    }
    try {
        out.region = p::resolve_region(in.settings, in.env_fn(), in.reader());
        HOIST_FUZZ_CHECK(!out.region.empty());
        for (char c : out.region) HOIST_FUZZ_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-');
    } catch (const p::config_error& e) {
        out.region = e.what();
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string_view text = hoist::fuzz::as_text(data, size);
    inputs in;
    const auto first = text.find('\x1e');
    std::string_view env_text = text.substr(0, first);
    if (first != std::string_view::npos) {
        const std::string_view files = text.substr(first + 1);
        const auto second = files.find('\x1e');
        in.credentials = std::string(files.substr(0, second));
        if (second != std::string_view::npos) in.config = std::string(files.substr(second + 1));
    }
    while (!env_text.empty()) {
        const std::string_view line = hoist::fuzz::next_piece(env_text, "\n");
        const auto eq = line.find('=');
        if (eq == std::string_view::npos) continue;
        const std::string name(line.substr(0, eq));
        std::string value(line.substr(eq + 1));
        if (name == "--profile") in.settings.profile = value;
        else if (name == "--region") in.settings.region = value;
        else in.env[name] = value;
    }

    try {
        // parse_ini is total, and what it read survives being written out.
        for (const auto& text : {in.credentials, in.config}) {
            if (!text) continue;
            const p::ini_file ini = p::parse_ini(*text);
            HOIST_FUZZ_CHECK(p::parse_ini(write_ini(ini, false)) == ini);
        }

        const outcome plain = resolve(in);

        // The same inputs with every secret replaced by the marker. The fuzzer
        // learns the marker from the comparison below and writes it into
        // profile names, which messages rightly name: skip those inputs.
        if (text.find("Zq7!") != std::string_view::npos) return 0;
        inputs marked = in;
        for (const char* name : {"AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"}) {
            if (auto it = marked.env.find(std::string_view(name)); it != marked.env.end() && !it->second.empty())
                it->second = secret_marker;
        }
        if (in.credentials) marked.credentials = write_ini(p::parse_ini(*in.credentials), true);
        if (in.config) marked.config = write_ini(p::parse_ini(*in.config), true);
        const outcome m = resolve(marked);
        HOIST_FUZZ_CHECK(m.have_credentials == plain.have_credentials);
        if (m.credentials.find(secret_marker) != std::string::npos || m.region.find(secret_marker) != std::string::npos) {
            std::fprintf(stderr, "secret in: %s | %s\n", m.credentials.c_str(), m.region.c_str());
            HOIST_FUZZ_CHECK(!"a secret reached a message");
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "unexpected exception: %s\n", e.what());
        HOIST_FUZZ_CHECK(!"only config_error may escape");
    }
    return 0;
}
