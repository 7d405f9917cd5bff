// Upload sources: a regular file read with positional reads (its size and
// mtime pinned at open, so a change during the upload is detected), and the
// bodies handed to connection::exchange.
#pragma once

#include "connection.hpp"

#include <sys/stat.h>

#include <string>

namespace hoist::engine::detail {

class file_source {
public:
    // Throws upload_error(source_error) with the reason: missing, a
    // directory, not a regular file, unreadable.
    static file_source open(const std::string& path);
    // Adopts an already open descriptor of a regular file (stdin redirected from a file).
    static file_source adopt(int fd, std::string name);
    file_source(file_source&& o) noexcept;
    file_source& operator=(file_source&&) = delete;
    ~file_source();

    std::uint64_t size() const noexcept { return size_; }
    const std::string& name() const noexcept { return name_; }
    // Reads exactly out.size() bytes at `offset`; a short read (the file
    // shrank) or an I/O error gives an error code.
    net::error_code read(std::uint64_t offset, std::span<char> out) const;
    // Feeds the bytes of [offset, offset+size) to `consume` without copying
    // them: the range is memory-mapped (the page cache, read in place), which
    // halves the CPU cost of the checksum pass over a pread into a buffer. A
    // truncation while mapped raises SIGBUS; it is caught and reported as an
    // error, so a shrinking file fails the upload instead of the process.
    net::error_code scan(std::uint64_t offset, std::uint64_t size,
                         const std::function<void(const char*, std::size_t)>& consume) const;
    // True when size or mtime differ from those seen at open.
    bool changed() const;

private:
    file_source(int fd, std::string name, bool owned);
    int fd_ = -1;
    bool owned_ = true;
    std::string name_;
    std::uint64_t size_ = 0;
    timespec mtime_{};
};

// One part of a file.
class file_part_body final : public body_source {
public:
    file_part_body(const file_source& file, std::uint64_t offset, std::uint64_t size)
        : file_(file), offset_(offset), size_(size) {}
    std::uint64_t size() const override { return size_; }
    net::awaitable<net::error_code> read(std::uint64_t offset, std::span<char> out) override {
        co_return file_.read(offset_ + offset, out);
    }

private:
    const file_source& file_;
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
