// Locates ../shared (the AWS SigV4 vectors) for the tests. The path is fixed at
// configure time (HOIST_SHARED_DIR) and can be overridden at run time with the
// environment variable of the same name. A missing folder is a test failure
// with a clear message, never a silent skip.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace hoist::test {

inline std::filesystem::path shared_dir() {
    const char* env = std::getenv("HOIST_SHARED_DIR");
    std::filesystem::path dir = env && *env ? env : HOIST_SHARED_DIR;
    if (!std::filesystem::is_directory(dir / "sigv4-test-suite"))
        throw std::runtime_error("the shared test data is missing: expected " +
                                 (dir / "sigv4-test-suite").string() +
                                 " (clone ../shared beside the repository, or set HOIST_SHARED_DIR)");
    return dir;
}

inline std::string read_file(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw std::runtime_error("cannot read " + path.string());
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

} // namespace hoist::test
