// The library as another project sees it: install hoist into a temporary
// prefix, build tests/consumer against it with find_package(hoist), run it.
#include "process.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <filesystem>

namespace fs = std::filesystem;
namespace t = hoist::test;

BOOST_AUTO_TEST_CASE(find_package_and_link_hoist_engine) {
    fs::path prefix = fs::temp_directory_path() / ("hoist-consumer-" + std::to_string(::getpid()));
    fs::remove_all(prefix);
    std::map<std::string, std::string> env = {{"PATH", std::getenv("PATH") ? std::getenv("PATH") : "/usr/bin:/bin"},
                                              {"HOME", prefix.string()}};
    auto step = [&](std::vector<std::string> argv, const char* what) {
        auto r = t::run_process(argv, env, 600);
        BOOST_TEST_REQUIRE(r.exit_code == 0, what << " failed (" << r.exit_code << "):\n" << r.out << r.err);
        return r;
    };
    step({HOIST_CMAKE, "--install", HOIST_BUILD_DIR, "--prefix", (prefix / "install").string()}, "install");
    BOOST_TEST(fs::exists(prefix / "install" / "include" / "hoist" / "engine" / "upload.hpp"));
    BOOST_TEST(fs::exists(prefix / "install" / "lib" / "cmake" / "hoist" / "hoistConfig.cmake"));
    step({HOIST_CMAKE, "-S", HOIST_SOURCE_DIR "/tests/consumer", "-B", (prefix / "build").string(), "-G", "Ninja",
          "-DCMAKE_PREFIX_PATH=" + (prefix / "install").string(),
          std::string("-DCMAKE_EXE_LINKER_FLAGS=") + HOIST_CONSUMER_LINKER_FLAGS},
         "configure");
    step({HOIST_CMAKE, "--build", (prefix / "build").string()}, "build");
    auto run = step({(prefix / "build" / "consumer").string()}, "run");
    BOOST_TEST(run.out.find("refused as expected") != std::string::npos);
    fs::remove_all(prefix);
}
