#include "journal.hpp"

#include "hoist/sigv4/encoding.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace hoist::engine::detail {

namespace json = boost::json;

// ---- pure --------------------------------------------------------------------

std::string entry_identity(const std::string& destination, const std::string& absolute_path) {
    return "hoist-resume-v1\n" + destination + "\n" + absolute_path;
}

std::string entry_file_name(const std::string& identity) { return sigv4::sha256_hex(identity) + ".journal"; }

} // namespace hoist::engine::detail

namespace hoist::engine {

std::string default_state_dir(const std::function<std::optional<std::string>(const std::string&)>& env) {
    // Directories are created below an existing base only: a HOME that does
    // not exist (a service account's /nonexistent) means no journal, not a
    // new tree from the root.
    std::error_code ec;
    if (auto xdg = env("XDG_STATE_HOME"); xdg && !xdg->empty() && xdg->front() == '/') {
        if (std::filesystem::is_directory(std::filesystem::path(*xdg).parent_path(), ec)) return *xdg + "/hoist/uploads";
        return {};
    }
    if (auto home = env("HOME"); home && !home->empty() && home->front() == '/' &&
                                 std::filesystem::is_directory(*home, ec))
        return *home + "/.local/state/hoist/uploads";
    return {};
}

} // namespace hoist::engine

namespace hoist::engine::detail {

std::string quoted_etag(std::string etag) {
    if (etag.empty() || etag.front() != '"') etag = "\"" + etag + "\"";
    return etag;
}

std::string render_header(const journal_header& h) {
    json::object o{{"hoist_journal", 1},
                   {"entry", h.entry},
                   {"upload_id", h.upload_id},
                   {"s3_key", h.s3_key},
                   {"upload_token", h.upload_token},
                   {"part_size", h.part_size},
                   {"checksum", h.checksum},
                   {"size", h.file.size},
                   {"mtime_ns", h.file.mtime_ns},
                   {"inode", h.file.inode},
                   {"device", h.file.device}};
    return json::serialize(o) + "\n";
}

std::string render_part(const journal_part& p) {
    json::object o{{"part", p.number}, {"etag", p.etag}, {"checksum", p.checksum}, {"size", p.size}};
    return json::serialize(o) + "\n";
}

namespace {

// Typed field access that fails (nullopt) instead of throwing.
std::optional<std::string> text_field(const json::object& o, std::string_view name) {
    auto* v = o.if_contains(name);
    if (!v || !v->is_string()) return std::nullopt;
    return std::string(v->as_string());
}

template <class Int>
std::optional<Int> int_field(const json::object& o, std::string_view name) {
    auto* v = o.if_contains(name);
    if (!v) return std::nullopt;
    json::error_code ec;
    auto n = v->to_number<Int>(ec);
    if (ec) return std::nullopt;
    return n;
}

std::optional<journal_header> parse_header(const json::object& o) {
    auto version = int_field<int>(o, "hoist_journal");
    if (!version || *version != 1) return std::nullopt;
    journal_header h;
    auto entry = text_field(o, "entry");
    auto id = text_field(o, "upload_id");
    auto key = text_field(o, "s3_key");
    auto token = text_field(o, "upload_token");
    auto part_size = int_field<std::uint64_t>(o, "part_size");
    auto checksum = text_field(o, "checksum");
    auto size = int_field<std::uint64_t>(o, "size");
    auto mtime = int_field<std::int64_t>(o, "mtime_ns");
    auto inode = int_field<std::uint64_t>(o, "inode");
    auto device = int_field<std::uint64_t>(o, "device");
    if (!entry || !id || id->empty() || !key || !token || !part_size || *part_size == 0 || !checksum || !size ||
        !mtime || !inode || !device)
        return std::nullopt;
    return journal_header{*entry, *id, *key, *token, *part_size, *checksum, {*size, *mtime, *inode, *device}};
}

std::optional<journal_part> parse_part(const json::object& o) {
    auto number = int_field<std::uint32_t>(o, "part");
    auto etag = text_field(o, "etag");
    auto checksum = text_field(o, "checksum");
    auto size = int_field<std::uint64_t>(o, "size");
    if (!number || *number < 1 || *number > protocol::max_parts || !etag || etag->empty() || !checksum || !size)
        return std::nullopt;
    return journal_part{*number, quoted_etag(*etag), *checksum, *size};
}

std::optional<json::object> parse_line(std::string_view line) {
    json::error_code ec;
    auto v = json::parse(line, ec);
    if (ec || !v.is_object()) return std::nullopt;
    return std::move(v.as_object());
}

} // namespace

journal_state parse_journal(std::string_view text) {
    journal_state out;
    std::size_t pos = 0;
    bool first = true;
    while (pos < text.size()) {
        auto end = text.find('\n', pos);
        if (end == std::string_view::npos) {   // torn: the write of the last line did not finish
            ++out.ignored_lines;
            break;
        }
        auto line = text.substr(pos, end - pos);
        pos = end + 1;
        out.valid_bytes = pos;
        auto object = parse_line(line);
        if (first) {
            first = false;
            if (object) out.header = parse_header(*object);
            if (!out.header) {   // without a header the parts mean nothing
                out.parts.clear();
                ++out.ignored_lines;
                return out;
            }
            continue;
        }
        std::optional<journal_part> part;
        if (object) part = parse_part(*object);
        if (!part) {
            ++out.ignored_lines;
            continue;
        }
        out.parts[part->number] = std::move(*part);
    }
    return out;
}

journal_match match_journal(const journal_state& journal, const std::string& entry, const file_identity& file,
                            std::optional<std::uint64_t> part_size, const std::string& checksum) {
    journal_match out;
    if (!journal.header) return out;   // nothing to continue, nothing known to abort
    const auto& h = *journal.header;
    auto over = [&](std::string why) {
        out.stale_upload_id = h.upload_id;
        out.reason = std::move(why);
        return out;
    };
    // A hash collision or a file copied between machines: not ours to abort.
    if (h.entry != entry) {
        out.reason = "the journal entry belongs to another upload";
        return out;
    }
    if (h.file != file) return over("the file changed since the interrupted upload");
    if (part_size && h.part_size != *part_size)
        return over("the part size differs from the interrupted upload's (" + std::to_string(h.part_size) + ")");
    if (h.checksum != checksum) return over("the checksum differs from the interrupted upload's (" + h.checksum + ")");
    try {
        (void)protocol::plan_parts(file.size, h.part_size);
    } catch (const protocol::plan_error&) {
        return over("the interrupted upload's part size does not fit the file");
    }
    out.resume = true;
    return out;
}

resume_decision decide_resume(const journal_state& journal, const protocol::part_plan& plan,
                              const std::optional<std::vector<protocol::part_info>>& server_parts) {
    resume_decision out;
    if (!server_parts || !journal.header) {
        out.start_over = true;
        return out;
    }
    for (const auto& s : *server_parts) {
        if (s.part_number < 1 || s.part_number > plan.part_count) continue;
        auto it = journal.parts.find(s.part_number);
        if (it == journal.parts.end()) continue;   // unknown to the journal: its content is not known to be ours
        const auto& j = it->second;
        if (s.size != plan.size(s.part_number) || j.size != s.size) continue;
        if (quoted_etag(s.etag) != j.etag) continue;
        if (!s.checksum_crc32c.empty() && !j.checksum.empty() && s.checksum_crc32c != j.checksum) continue;
        out.keep[s.part_number] = j;
    }
    for (std::uint32_t n = 1; n <= plan.part_count; ++n)
        if (!out.keep.contains(n)) out.resend.push_back(n);
    return out;
}

// ---- I/O ---------------------------------------------------------------------

namespace {

std::string errno_text() { return std::strerror(errno); }

void fsync_dir(const std::string& dir) {
    int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;
    ::fsync(fd);
    ::close(fd);
}

} // namespace

std::optional<journal_file> journal_file::open(const std::string& state_dir, const std::string& identity,
                                               std::string* why) {
    auto fail = [&](std::string text) -> std::optional<journal_file> {
        if (why) *why = std::move(text);
        return std::nullopt;
    };
    if (state_dir.empty()) return fail("no state directory (neither XDG_STATE_HOME nor HOME names a usable one)");
    std::error_code ec;
    std::filesystem::create_directories(state_dir, ec);
    if (ec) return fail("cannot create " + state_dir + ": " + ec.message());
    ::chmod(state_dir.c_str(), 0700);   // the entries hold upload ids (and a service's upload tokens)
    const std::string path = state_dir + "/" + entry_file_name(identity);
    // The entry may be removed by its holder between our open and our lock: we
    // would then hold a lock on a file nobody else can find. Check, and retry.
    for (int attempt = 0; attempt < 3; ++attempt) {
        int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (fd < 0) return fail("cannot open " + path + ": " + errno_text());
        if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
            int err = errno;
            ::close(fd);
            if (err == EWOULDBLOCK) return fail("another hoist is uploading this file to this destination");
            return fail("cannot lock " + path + ": " + std::strerror(err));
        }
        struct stat held {}, named {};
        if (::fstat(fd, &held) == 0 && ::stat(path.c_str(), &named) == 0 && held.st_ino == named.st_ino &&
            held.st_dev == named.st_dev)
            return journal_file(fd, path, identity);
        ::close(fd);
    }
    return fail("the journal entry " + path + " keeps being replaced");
}

journal_file::journal_file(int fd, std::string path, std::string identity)
    : fd_(fd), path_(std::move(path)), identity_(std::move(identity)),
      dir_(std::filesystem::path(path_).parent_path().string()) {}

journal_file::journal_file(journal_file&& o) noexcept
    : fd_(std::exchange(o.fd_, -1)), ok_(o.ok_), path_(std::move(o.path_)), identity_(std::move(o.identity_)),
      dir_(std::move(o.dir_)) {}

journal_file& journal_file::operator=(journal_file&& o) noexcept {
    if (this != &o) {
        if (fd_ >= 0) ::close(fd_);
        fd_ = std::exchange(o.fd_, -1);
        ok_ = o.ok_;
        path_ = std::move(o.path_);
        identity_ = std::move(o.identity_);
        dir_ = std::move(o.dir_);
    }
    return *this;
}

journal_file::~journal_file() {
    if (fd_ >= 0) ::close(fd_);   // closing releases the flock
}

journal_state journal_file::load() {
    std::string text;
    char buf[64 * 1024];
    for (off_t offset = 0;;) {
        ssize_t n = ::pread(fd_, buf, sizeof buf, offset);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        text.append(buf, static_cast<std::size_t>(n));
        offset += n;
        if (text.size() > 64 * 1024 * 1024) break;   // 10,000 part lines are ~1.5 MB: this is not a journal
    }
    auto state = parse_journal(text);
    // A torn tail would glue itself to the next appended line: cut it now.
    if (state.valid_bytes < text.size() && ::ftruncate(fd_, static_cast<off_t>(state.valid_bytes)) != 0) ok_ = false;
    return state;
}

bool journal_file::write_all(std::string_view text) {
    if (!ok_) return false;
    while (!text.empty()) {
        ssize_t n = ::write(fd_, text.data(), text.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            ok_ = false;
            return false;
        }
        text.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
}

bool journal_file::start(const journal_header& header) {
    if (fd_ < 0) return false;
    ok_ = ::ftruncate(fd_, 0) == 0;
    if (!write_all(render_header(header)) || ::fsync(fd_) != 0) return ok_ = false;
    fsync_dir(dir_);
    return true;
}

void journal_file::record(const journal_part& part) {
    if (fd_ >= 0) write_all(render_part(part));
}

void journal_file::remove() {
    if (fd_ < 0) return;
    ::unlink(path_.c_str());   // under the lock: whoever opens the path next gets a new entry
    ::close(fd_);
    fd_ = -1;
}

} // namespace hoist::engine::detail
