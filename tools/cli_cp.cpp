#include "cli_cp.hpp"
#include "json_text.hpp"
#include "progress_display.hpp"

#include <boost/json.hpp>

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace hoist::cli {

void cp_command::add_to(CLI::App& parent) {
    app = parent.add_subcommand(
        "cp", "Upload files to S3: FILE|- s3://BUCKET/KEY, or several sources, a --recursive directory or "
              "--files-from a list into s3://BUCKET/PREFIX/ (or through a presign service with --via)");
    app->add_option("paths", paths,
                    "SOURCE... then the destination s3://BUCKET/KEY, or s3://BUCKET/PREFIX/ for several files "
                    "(none with --via: the service chooses the keys)")
        ->required();
    app->add_option("--name", name, "file name given to the service (one file with --via; default: its name)");
    app->add_flag("-r,--recursive", recursive, "upload the files under each source directory, keys as aws-cli maps them");
    app->add_option("--files-from", files_from,
                    "upload the files listed in this file (- for stdin), one path a line, relative to the source "
                    "directory (default: the current one); empty lines and lines starting with # are skipped");
    app->add_flag("-0,--null", null_separated, "--files-from paths are separated by NUL bytes (find -print0)");
    transfer.add_to(*app);
    bulk.add_to(*app);
}

namespace {

bool is_directory(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string base_name(const std::string& path) {
    auto trimmed = path;
    while (trimmed.size() > 1 && trimmed.back() == '/') trimmed.pop_back();
    return std::filesystem::path(trimmed).filename().string();
}

// A --files-from entry as a path relative to `root`, '/'-separated and
// normalised; nullopt (with `why`) for one that leaves the root.
std::optional<std::string> relative_entry(const std::string& line, const std::filesystem::path& root_abs,
                                          std::string& why) {
    namespace fs = std::filesystem;
    fs::path p(line);
    if (p.is_absolute()) {
        auto rel = p.lexically_normal().lexically_relative(root_abs);
        if (rel.empty() || *rel.begin() == "..") {
            why = "not under the source directory " + root_abs.string();
            return std::nullopt;
        }
        p = rel;
    }
    p = p.lexically_normal();
    if (p.empty() || p == "." || *p.begin() == "..") {
        why = "not a file under the source directory";
        return std::nullopt;
    }
    return p.generic_string();
}

} // namespace

int cp_command::run(const protocol::env_lookup& env, const protocol::file_reader& files) const {
    std::vector<std::string> sources = paths;
    std::string destination;
    if (transfer.via) {
        for (const auto& p : paths)
            if (p.rfind("s3://", 0) == 0) throw usage_error("--via uploads where the service says: drop " + p);
    } else {
        if (paths.size() < 2 && !files_from)
            throw usage_error("the destination s3://BUCKET/KEY is missing (or use --via)");
        destination = sources.back();
        sources.pop_back();
    }
    bool many = recursive || files_from || sources.size() > 1;
    if (!many) {
        if (sources[0] != "-" && is_directory(sources[0]))
            throw usage_error(sources[0] + " is a directory (use --recursive to upload the files under it)");
        return run_one(sources[0], destination, env, files);
    }
    if (name) throw usage_error("--name names one file; with several, each file's path is its name");
    return run_many(sources, destination, env, files);
}

int cp_command::run_one(const std::string& source, const std::string& destination, const protocol::env_lookup& env,
                        const protocol::file_reader& files) const {
    // First: reading credentials (a FIFO, a hung mount) can block too.
    engine::cancel_token cancel;
    signal_watcher signals(cancel, {.first = {},
                                    .waiting = "hoist: stopping: aborting the multipart upload, if one was started; "
                                               "interrupt again to exit now",
                                    .left_behind = "a multipart upload may be left on the server "
                                                   "(hoist uploads ls lists it)"});
    protocol::s3_url dest;
    std::string key;
    if (!transfer.via) {
        // s3://BUCKET/PREFIX/ puts the file under its own name, as aws-cli does.
        bool folder = destination.size() > 5 && destination.back() == '/';
        dest = protocol::parse_s3_url(destination, !folder);
        if (folder) {
            if (source == "-") throw usage_error("standard input has no name: give the full key s3://BUCKET/KEY");
            dest.key = engine::bulk::key_for(dest.key, base_name(source));
        }
        key = dest.key;
    }
    engine::upload_options opt = at_key(transfer.make(*app, env, files, dest.bucket), key);
    // One file, one one-shot client: the upload's own cap is the whole cap.
    opt.max_bytes_per_second = transfer.bytes_per_second();
    if (opt.via)
        opt.via->file_name = name.value_or(source == "-" ? std::string("stdin") : base_name(source));

    progress_display display(transfer.quiet ? progress_display::mode::off : progress_display::mode::automatic);
    // The engine runs from here on. Until its first progress report it holds no
    // multipart upload to abort: upload_file reports a file's upload in the
    // step that creates it, before a cancel can be handled (an engine rewrite
    // must keep that, or say "created" explicitly). Before its event loop it
    // may block where the cancel cannot reach (open() of a FIFO waits for a
    // writer): the watcher then ends hoist. Standard input ("-") is read inside
    // the loop, and a stream can create its upload before its first report, so
    // there the watcher waits for the engine from the start.
    signals.set_stage(source == "-" ? signal_watcher::stage::engine : signal_watcher::stage::starting);
    auto on_progress = [&](const engine::progress& p) {
        signals.set_stage(signal_watcher::stage::engine);
        display.update(p);
    };
    engine::upload_result r;
    try {
        r = engine::upload_file(source, opt, on_progress, cancel);
    } catch (const engine::upload_error& e) {
        signals.set_stage(signal_watcher::stage::local);
        display.finish();
        bool usage = e.code() == engine::upload_errc::invalid_argument || e.code() == engine::upload_errc::source_error;
        std::cerr << "hoist: error: " << e.what() << '\n';
        if (transfer.json) {
            boost::json::object o{{"error", e.what()},
                                   {"code", std::string(engine::to_string(e.code()))},
                                   {"upload_id", e.upload_id()},
                                   {"aborted", e.aborted()}};
            std::cout << to_json_text(o) << '\n';
        }
        // Interrupted: the shell's convention, 128 + the signal (130 for Ctrl-C).
        if (e.code() == engine::upload_errc::cancelled && signals.signal_number() > 0)
            return 128 + signals.signal_number();
        return usage ? exit_usage : exit_failed;
    }
    signals.set_stage(signal_watcher::stage::local);
    display.finish(r);
    if (!transfer.quiet && r.parts_resumed > 0)
        std::cerr << "hoist: resumed upload " << r.upload_id << ": " << r.parts_resumed << " of " << r.parts
                  << " parts (" << r.bytes_resumed << " bytes) were already stored and not sent again\n";
    if (!transfer.quiet && !r.resume_note.empty()) std::cerr << "hoist: note: " << r.resume_note << '\n';
    if (!r.integrity_note.empty()) std::cerr << "hoist: warning: " << r.integrity_note << '\n';
    if (!r.fallback_reason.empty() && !transfer.quiet)
        std::cerr << "hoist: warning: presigned PUTs failed (" << r.fallback_reason
                  << "); the parts went through the service instead\n";
    if (transfer.json) {
        boost::json::object o{{"bytes", r.bytes},
                              {"seconds", r.seconds},
                              {"mb_per_s", r.seconds > 0 ? static_cast<double>(r.bytes) / 1e6 / r.seconds : 0.0},
                              {"parts", r.parts},
                              {"retries", r.retries},
                              {"connections_opened", r.connections_opened},
                              {"connections_reused", r.connections_reused},
                              {"tls_resumed", r.tls_resumed},
                              {"method", r.method},
                              {"etag", r.etag},
                              {"upload_id", r.upload_id},
                              {"checksum", r.checksum},
                              {"part_size", r.part_size},
                              {"concurrency", opt.concurrency},
                              {"parts_in_flight", r.parts_in_flight},
                              {"congestion_control", r.congestion_control},
                              {"bucket", dest.bucket},
                              {"key", r.key},
                              {"bytes_resumed", r.bytes_resumed},
                              {"parts_resumed", r.parts_resumed}};
        if (!r.resume_note.empty()) o["resume_note"] = r.resume_note;
        if (!r.integrity_note.empty()) o["integrity_note"] = r.integrity_note;
        if (!r.fallback_reason.empty()) o["fallback_reason"] = r.fallback_reason;
        std::cout << to_json_text(o) << '\n';
    }
    return exit_ok;
}

int cp_command::run_many(const std::vector<std::string>& sources, const std::string& destination,
                         const protocol::env_lookup& env, const protocol::file_reader& files) const {
    engine::cancel_token cancel;
    signal_watcher signals(cancel, {.first = {},
                                    .waiting = "hoist: stopping: aborting the multipart uploads in progress; "
                                               "interrupt again to exit now",
                                    .left_behind = "multipart uploads may be left on the server "
                                                   "(hoist uploads ls lists them)"});
    protocol::s3_url dest;
    if (!transfer.via) dest = protocol::parse_s3_url(destination, /*key_required=*/false);
    const std::string& prefix = dest.key;   // a "folder": key_for adds the '/'
    auto filter = bulk.filter(*app);
    auto shard = bulk.shard_spec();

    // Every source is checked before the first upload: a typo is a usage
    // error, not a failed file after an hour of uploading.
    for (const auto& s : sources) {
        if (s == "-") throw usage_error("- (standard input) uploads alone: hoist cp - s3://BUCKET/KEY");
        struct stat st {};
        if (::stat(s.c_str(), &st) != 0) throw usage_error(s + ": " + std::strerror(errno));
        if (S_ISDIR(st.st_mode) && !recursive && !files_from)
            throw usage_error(s + " is a directory (use --recursive to upload the files under it)");
    }
    if (files_from && sources.size() > 1)
        throw usage_error("--files-from takes at most one source directory (the paths' root)");
    if (files_from && sources.size() == 1 && !is_directory(sources[0]))
        throw usage_error("--files-from: " + sources[0] + " is not a directory (the root of the listed paths)");

    engine::upload_options bucket_options = transfer.make(*app, env, files, dest.bucket);
    bulk_run run(transfer, bulk, signals, cancel);

    // One file: filters and shard, then the upload. False: stop feeding.
    auto offer = [&](const std::string& path, const std::string& relative, std::uint64_t size) {
        if (!filter.included(relative)) return true;
        std::string key = engine::bulk::key_for(prefix, relative);
        if (!shard.owns(key)) return true;
        return run.upload(path, at_key(bucket_options, key), size);
    };
    auto walk = [&](const std::string& root) {
        engine::bulk::tree_walker walker(root, engine::bulk::tree_walker::order::kernel);
        while (auto item = walker.next()) {
            using kind = engine::bulk::walk_item::kind;
            if (item->type == kind::error) {
                if (filter.included(item->file.relative))
                    run.local_failure(item->file.path, engine::bulk::key_for(prefix, item->file.relative),
                                      item->message);
            } else if (item->type == kind::skipped) {
                if (filter.included(item->file.relative)) run.skipped(item->file.path, item->message);
            } else if (!offer(item->file.path, item->file.relative, item->file.size)) {
                return false;
            }
            if (run.stopping()) return false;
        }
        return true;
    };

    if (files_from) {
        namespace fs = std::filesystem;
        std::string root = sources.empty() ? std::string(".") : sources[0];
        fs::path root_abs = fs::absolute(root).lexically_normal();
        std::ifstream file;
        std::istream* in = &std::cin;
        if (*files_from != "-") {
            file.open(*files_from);
            if (!file) throw usage_error("--files-from " + *files_from + ": " + std::strerror(errno));
            in = &file;
        }
        std::string line;
        std::uint64_t number = 0;
        while (std::getline(*in, line, null_separated ? '\0' : '\n')) {
            ++number;
            if (!null_separated) {
                if (!line.empty() && line.back() == '\r') line.pop_back();
                if (line.empty() || line[0] == '#') continue;
            } else if (line.empty()) {
                continue;
            }
            std::string why;
            auto relative = relative_entry(line, root_abs, why);
            if (!relative) {
                run.local_failure(line, {}, "--files-from line " + std::to_string(number) + ": " + line + ": " + why);
                continue;
            }
            std::string path = (fs::path(root) / *relative).string();
            struct stat st {};
            if (::stat(path.c_str(), &st) != 0) {
                if (filter.included(*relative))
                    run.local_failure(path, engine::bulk::key_for(prefix, *relative), std::strerror(errno));
                continue;
            }
            if (S_ISDIR(st.st_mode)) {
                if (filter.included(*relative)) run.skipped(path, "skipped " + path + ": a directory in --files-from");
                continue;
            }
            if (!offer(path, *relative, static_cast<std::uint64_t>(st.st_size))) break;
        }
    } else {
        for (const auto& s : sources) {
            if (is_directory(s)) {
                if (!walk(s)) break;
            } else {
                struct stat st {};
                ::stat(s.c_str(), &st);
                if (!offer(s, base_name(s), static_cast<std::uint64_t>(st.st_size))) break;
            }
        }
    }
    signals.set_stage(signal_watcher::stage::engine);
    int code = run.finish(signals);
    signals.set_stage(signal_watcher::stage::local);
    return code;
}

} // namespace hoist::cli
