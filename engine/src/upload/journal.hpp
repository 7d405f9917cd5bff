// The resume journal: what an interrupted multipart upload needs to continue
// on the next run of the same file to the same destination (issue 15).
//
// One file per (destination, absolute source path) under the state directory
// ($XDG_STATE_HOME/hoist/uploads/, default ~/.local/state/hoist/uploads/),
// named by the SHA-256 of that identity. Its records are JSON lines, appended:
//
//   {"hoist_journal":1,"entry":"...","upload_id":"...","s3_key":"...","upload_token":"...",
//    "part_size":N,"checksum":"crc32c","size":N,"mtime_ns":N,"inode":N,"device":N}    <- header, first line
//   {"part":3,"etag":"\"...\"","checksum":"base64 or empty","size":N}                  <- one per confirmed part
//
// A part costs one small write(2) with O_APPEND. A crash mid-write loses at
// most that line: a last line without its newline (torn) is ignored, and so
// is a part line that does not parse. A header that does not parse makes the
// whole file unusable (the upload starts over).
//
// fsync policy: the header is fsync'ed (file and directory) once per upload,
// because losing it orphans the upload and loses all its progress; part lines
// are not: the server's ListParts is the authority on what is stored, the
// journal only the cross-check, so a part line lost to a power cut costs one
// part's resend, while an fsync per part costs a disk flush per part (10,000
// of them on a large upload, milliseconds each on a rotating or network disk).
// A kill -9 loses nothing: the lines are in the page cache.
//
// The pure half (render, parse, decide) has no I/O and is unit-tested; the
// journal_file class below it is the thin I/O around it.
#pragma once

#include "hoist/protocol/s3/part_plan.hpp"
#include "hoist/protocol/s3/requests.hpp"
#include "hoist/protocol/s3/xml.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace hoist::engine::detail {

// ---- pure --------------------------------------------------------------------

// What makes a file "the same file" for a resume: any difference starts over.
struct file_identity {
    std::uint64_t size = 0;
    std::int64_t mtime_ns = 0;
    std::uint64_t inode = 0;
    std::uint64_t device = 0;
    bool operator==(const file_identity&) const = default;
};

struct journal_header {
    std::string entry;            // the entry's identity text (destination + path), checked against the file name's
    std::string upload_id;
    std::string s3_key;           // through a service: the key it chose (else the destination's)
    std::string upload_token;     // through a service: its HMAC token for this upload (else empty)
    std::uint64_t part_size = 0;
    std::string checksum;         // protocol::to_string(kind) the upload was created with
    file_identity file;
};

struct journal_part {
    std::uint32_t number = 0;
    std::string etag;             // quoted
    std::string checksum;         // crc32c base64, or empty
    std::uint64_t size = 0;
};

struct journal_state {
    std::optional<journal_header> header;         // nullopt: empty, or unusable (corrupt header)
    std::map<std::uint32_t, journal_part> parts;  // the last line for a number wins
    unsigned ignored_lines = 0;                   // torn or corrupt lines skipped
    std::size_t valid_bytes = 0;                  // length of the text up to the last complete line
};

// The identity text of an entry: direct uploads name endpoint, bucket and key;
// uploads through a service name the service and the file name given to it.
// `absolute_path` is the source's absolute path. Newlines separate the fields
// (none of them can contain one that matters: a key with one still hashes
// distinctly because the field count is fixed).
std::string entry_identity(const std::string& destination, const std::string& absolute_path);
// The file name of an entry: hex SHA-256 of its identity, ".journal".
std::string entry_file_name(const std::string& identity);
std::string render_header(const journal_header& h);   // one line, newline included
std::string render_part(const journal_part& p);       // one line, newline included
// Parses a journal file's text; never throws.
journal_state parse_journal(std::string_view text);

// Step one, before any request: does the journal describe an upload this run can continue?
struct journal_match {
    bool resume = false;                  // ask the server (ListParts) about header->upload_id
    std::string stale_upload_id;          // start over, and abort this one first (the file changed, ...)
    std::string reason;                   // why not resumed, for a message ("" when resumed or no journal)
};
// `part_size` is the planned part size, or nullopt when the backend decides it
// (a presign service): then the journal's is taken. `checksum` is the kind the
// parts will carry.
journal_match match_journal(const journal_state& journal, const std::string& entry, const file_identity& file,
                            std::optional<std::uint64_t> part_size, const std::string& checksum);

// Step two, with the server's answer: which parts are kept, which are sent.
struct resume_decision {
    bool start_over = false;                         // the server no longer has the upload
    std::map<std::uint32_t, journal_part> keep;      // confirmed by journal and server: not sent again
    std::vector<std::uint32_t> resend;               // everything else in the plan, ascending
};
// `server_parts`: every part ListParts listed (all pages), or nullopt for
// NoSuchUpload. A part is kept only when the server lists it with the size the
// plan gives it and the ETag (and, when both have one, the CRC32C) the journal
// recorded. A part the server holds but the journal does not know, or holds
// with another ETag, is sent again (UploadPart replaces it). Parts beyond the
// plan are ignored (Complete names only the plan's).
resume_decision decide_resume(const journal_state& journal, const protocol::part_plan& plan,
                              const std::optional<std::vector<protocol::part_info>>& server_parts);

// "\"abc\"" for "abc" or "\"abc\"".
std::string quoted_etag(std::string etag);

// ---- I/O ---------------------------------------------------------------------

// One journal entry, held under an exclusive flock(2) for the whole upload:
// a second hoist uploading the same file to the same destination at the same
// time gets no journal_file (and uploads without resume) instead of mixing its
// lines into this one's. Writes after open are best effort: a failure turns the
// journal off (the upload goes on; it is only not resumable).
class journal_file {
public:
    // Creates the directory (0700) and the file (0600) if needed and locks it.
    // nullopt when the entry is locked by another process or the directory is
    // not usable; `why` says which.
    static std::optional<journal_file> open(const std::string& state_dir, const std::string& identity,
                                            std::string* why = nullptr);
    journal_file(journal_file&&) noexcept;
    journal_file& operator=(journal_file&&) noexcept;
    ~journal_file();   // unlocks (the file stays)

    const std::string& path() const noexcept { return path_; }
    const std::string& identity() const noexcept { return identity_; }
    // Reads and parses the entry; drops a torn tail so that appends start on a line of their own.
    journal_state load();
    // Replaces the entry with a new upload's header, fsync'ed; false if that failed.
    bool start(const journal_header& header);
    // Appends one confirmed part (no fsync: see the policy above).
    void record(const journal_part& part);
    // The upload completed or was aborted: the entry goes.
    void remove();

private:
    journal_file(int fd, std::string path, std::string identity);
    bool write_all(std::string_view text);
    int fd_ = -1;
    bool ok_ = true;   // false after a write failed: nothing more is written
    std::string path_, identity_, dir_;
};

} // namespace hoist::engine::detail
