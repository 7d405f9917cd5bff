// Locates the tests' reference data: tests/data/ in the source tree (the AWS
// SigV4 vectors, copied in from ../shared so that a clone tests on its own).
// The path is fixed at configure time (HOIST_TEST_DATA) and can be overridden
// at run time with the environment variable of the same name. A missing folder
// is a test failure with a clear message, never a silent skip.
#pragma once

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace hoist::test {

inline std::filesystem::path test_data_dir() {
    const char* env = std::getenv("HOIST_TEST_DATA");
    std::filesystem::path dir = env && *env ? env : HOIST_TEST_DATA;
    if (!std::filesystem::is_directory(dir / "sigv4-test-suite"))
        throw std::runtime_error("the test data is missing: expected " + (dir / "sigv4-test-suite").string() +
                                 " (tests/data in the source tree, or set HOIST_TEST_DATA)");
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
