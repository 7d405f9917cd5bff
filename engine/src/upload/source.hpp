// Upload sources: a regular file read with positional reads (its size and
// mtime pinned at open, so a change during the upload is detected), and the
// bodies handed to connection::exchange.
#pragma once

#include "connection.hpp"
#include "journal.hpp"

#include <sys/stat.h>

#include <functional>
#include <memory>
#include <string>

namespace hoist::engine::detail {

// A source of known size read at any offset: a regular file, or bytes in memory.
class positional_source {
public:
    virtual ~positional_source() = default;
    virtual std::uint64_t size() const noexcept = 0;
    virtual const std::string& name() const noexcept = 0;
    // Reads exactly out.size() bytes at `offset`; a short read is an error.
    virtual net::error_code read(std::uint64_t offset, std::span<char> out) const = 0;
    // Feeds the bytes of [offset, offset+size) to `consume`, without copying where it can.
    virtual net::error_code scan(std::uint64_t offset, std::uint64_t size,
                                 const std::function<void(const char*, std::size_t)>& consume) const = 0;
    // True when the source is no longer what it was when the upload began.
    virtual bool changed() const = 0;
};

class file_source final : public positional_source {
public:
    // Throws upload_error(source_error) with the reason: missing, a
    // directory, not a regular file, unreadable.
    static file_source open(const std::string& path);
    // Adopts an already open descriptor of a regular file (stdin redirected from a file).
    static file_source adopt(int fd, std::string name);
    file_source(file_source&& o) noexcept;
    file_source& operator=(file_source&&) = delete;
    ~file_source();

    std::uint64_t size() const noexcept override { return size_; }
    const std::string& name() const noexcept override { return name_; }
    // Reads exactly out.size() bytes at `offset`; a short read (the file
    // shrank) or an I/O error gives an error code.
    net::error_code read(std::uint64_t offset, std::span<char> out) const override;
    // Feeds the bytes of [offset, offset+size) to `consume` without copying
    // them: the range is memory-mapped (the page cache, read in place), which
    // halves the CPU cost of the checksum pass over a pread into a buffer. A
    // truncation while mapped raises SIGBUS; it is caught and reported as an
    // error, so a shrinking file fails the upload instead of the process.
    net::error_code scan(std::uint64_t offset, std::uint64_t size,
                         const std::function<void(const char*, std::size_t)>& consume) const override;
    // True when size or mtime differ from those seen at open.
    bool changed() const override;
    // Size, mtime, inode and device as seen at open (the resume journal's "same file").
    file_identity identity() const noexcept { return identity_; }

private:
    file_source(int fd, std::string name, bool owned);
    int fd_ = -1;
    bool owned_ = true;
    std::string name_;
    std::uint64_t size_ = 0;
    timespec mtime_{};
    file_identity identity_;
};

// Bytes in memory, shared with the caller (client::async_upload of upload_source::memory).
class memory_source final : public positional_source {
public:
    explicit memory_source(std::shared_ptr<const std::string> bytes) : bytes_(std::move(bytes)) {}
    std::uint64_t size() const noexcept override { return bytes_->size(); }
    const std::string& name() const noexcept override { return name_; }
    net::error_code read(std::uint64_t offset, std::span<char> out) const override;
    net::error_code scan(std::uint64_t offset, std::uint64_t size,
                         const std::function<void(const char*, std::size_t)>& consume) const override;
    bool changed() const override { return false; }

private:
    std::shared_ptr<const std::string> bytes_;
    std::string name_ = "<memory>";
};

// upload_source::generated: a fixed random block (4 MiB, made once per
// process) whose every 8-byte word is XORed with a key of (seed, offset / block
// size): random to a compressor, different for every seed and every block of
// an object, and as cheap to make as a copy.
class generated_source final : public positional_source {
public:
    generated_source(std::uint64_t size, std::uint64_t seed) : size_(size), seed_(seed) {}
    std::uint64_t size() const noexcept override { return size_; }
    const std::string& name() const noexcept override { return name_; }
    net::error_code read(std::uint64_t offset, std::span<char> out) const override;
    net::error_code scan(std::uint64_t offset, std::uint64_t size,
                         const std::function<void(const char*, std::size_t)>& consume) const override;
    bool changed() const override { return false; }

private:
    std::uint64_t size_, seed_;
    std::string name_ = "<generated>";
};

// One part of a positional source.
class file_part_body final : public body_source {
public:
    file_part_body(const positional_source& file, std::uint64_t offset, std::uint64_t size)
        : file_(file), offset_(offset), size_(size) {}
    std::uint64_t size() const override { return size_; }
    net::awaitable<net::error_code> read(std::uint64_t offset, std::span<char> out) override {
        co_return file_.read(offset_ + offset, out);
    }

private:
    const positional_source& file_;
    std::uint64_t offset_, size_;
};

// A part held in memory (stdin streams).
class memory_body final : public body_source {
public:
    explicit memory_body(std::string data) : data_(std::move(data)) {}
    std::uint64_t size() const override { return data_.size(); }
    net::awaitable<net::error_code> read(std::uint64_t offset, std::span<char> out) override;
    const std::string& data() const noexcept { return data_; }

private:
    std::string data_;
};

} // namespace hoist::engine::detail
