// hoist: move large files into S3-compatible object storage.
//
// Exit codes: 0 success, 1 the operation failed, 2 bad usage, configuration or
// credentials. Errors are one line on stderr, "hoist: error: ...".
#include "cli_bench.hpp"
#include "cli_cp.hpp"
#include "cli_presign.hpp"
#include "cli_serve.hpp"
#include "cli_sync.hpp"
#include "cli_uploads.hpp"

#include "hoist/sigv4/credentials.hpp"

#include <iostream>

namespace {

int fail(int code, std::string_view message) {
    std::cerr << "hoist: error: " << message << '\n';
    return code;
}

} // namespace

int main(int argc, char** argv) {
    using namespace hoist;
    CLI::App app{"hoist: move large files into S3-compatible object storage, fast and without losing a byte"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "hoist 0.1.0");

    cli::cp_command cp;
    cp.add_to(app);
    cli::presign_command presign;
    presign.add_to(app);
    cli::sync_command sync;
    sync.add_to(app);
    cli::serve_command serve;
    serve.add_to(app);
    cli::uploads_command uploads;
    uploads.add_to(app);
    cli::bench_command bench;
    bench.add_to(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::CallForHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForAllHelp& e) {
        return app.exit(e);
    } catch (const CLI::CallForVersion& e) {
        return app.exit(e);
    } catch (const CLI::ParseError& e) {
        return fail(cli::exit_usage, e.what());
    }

    try {
        auto env = protocol::process_environment();
        auto files = protocol::filesystem_reader();
        if (*cp.app) return cp.run(env, files);
        if (*presign.app) return presign.run(env, files);
        if (*sync.app) return sync.run(env, files);
        if (*serve.app) return serve.run(env, files);
        if (*uploads.app) return uploads.run(env, files);
        if (*bench.app) return bench.run(env, files);
    } catch (const cli::usage_error& e) {
        return fail(cli::exit_usage, e.what());
    } catch (const protocol::config_error& e) {
        return fail(cli::exit_usage, e.what());
    } catch (const protocol::address_error& e) {
        return fail(cli::exit_usage, e.what());
    } catch (const sigv4::sigv4_error& e) {
        return fail(cli::exit_usage, e.what());
    } catch (const std::exception& e) {
        return fail(cli::exit_failed, e.what());
    }
    return fail(cli::exit_usage, "no command given (try --help)");
}
