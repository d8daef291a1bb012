#include "retentiond/archive/archive_reader.hpp"

#include <fcntl.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <string>
#include <system_error>

#include "retentiond/archive/sha256.hpp"

namespace fs = std::filesystem;

namespace retentiond {
namespace {

constexpr std::size_t kReadBlock = std::size_t{1} << 20;

[[noreturn]] void fail(const std::string& what, const fs::path& path, int error) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::system_category().message(error));
}

class File {
 public:
  explicit File(const fs::path& path) : path_(path), fd_(::open(path.c_str(), O_RDONLY | O_CLOEXEC)) {
    if (fd_ < 0) fail("cannot open", path, errno);
  }
  ~File() { ::close(fd_); }
  File(const File&) = delete;
  File& operator=(const File&) = delete;

  // Fills `buffer` with up to its size; returns the number of bytes, 0 at end of file.
  std::size_t read(std::string& buffer) {
    for (;;) {
      const ssize_t n = ::read(fd_, buffer.data(), buffer.size());
      if (n >= 0) return static_cast<std::size_t>(n);
      if (errno != EINTR) fail("cannot read", path_, errno);
    }
  }

 private:
  fs::path path_;
  int fd_;
};

struct DctxDeleter {
  void operator()(ZSTD_DCtx* context) const { ZSTD_freeDCtx(context); }
};

}  // namespace

ArchiveSummary read_archive(const fs::path& path, Compression compression, const ArchiveSink& sink) {
  File file(path);
  Sha256 hash;
  ArchiveSummary summary;
  char last = '\n';  // of the uncompressed data; empty data is complete
  const auto deliver = [&](std::string_view data) {
    if (data.empty()) return;
    summary.raw_bytes += static_cast<std::int64_t>(data.size());
    summary.rows += std::count(data.begin(), data.end(), '\n');
    last = data.back();
    if (sink) sink(data);
  };

  std::string input(kReadBlock, '\0');
  std::unique_ptr<ZSTD_DCtx, DctxDeleter> zstd;
  std::string output;
  if (compression == Compression::zstd) {
    zstd.reset(ZSTD_createDCtx());
    if (!zstd) throw std::runtime_error("cannot create a zstd decompression context");
    output.resize(ZSTD_DStreamOutSize());
  }
  // 0 once a frame is complete; a non-zero value at end of file means the stream stops inside
  // a frame, which is what a writer killed mid-way would leave.
  std::size_t frame_pending = 0;
  bool any_input = false;
  for (;;) {
    const std::size_t n = file.read(input);
    if (n == 0) break;
    any_input = true;
    const std::string_view stored(input.data(), n);
    hash.update(stored);
    summary.bytes += static_cast<std::int64_t>(n);
    if (!zstd) {
      deliver(stored);
      continue;
    }
    ZSTD_inBuffer in{input.data(), n, 0};
    // Keep calling while input remains or the output buffer came back full (more may be
    // buffered inside the decompressor).
    for (;;) {
      ZSTD_outBuffer out{output.data(), output.size(), 0};
      frame_pending = ZSTD_decompressStream(zstd.get(), &out, &in);
      if (ZSTD_isError(frame_pending)) {
        throw std::runtime_error("archive " + path.string() +
                                 " is corrupt: " + ZSTD_getErrorName(frame_pending));
      }
      deliver(std::string_view(output.data(), out.pos));
      if (in.pos == in.size && out.pos < out.size) break;
    }
  }
  if (zstd && (frame_pending != 0 || !any_input)) {
    throw std::runtime_error("archive " + path.string() +
                             " is truncated: the zstd stream ends inside a frame");
  }
  if (last != '\n') {
    throw std::runtime_error("archive " + path.string() + " is truncated: its data ends inside a row");
  }
  summary.sha256 = hash.hex_digest();
  return summary;
}

}  // namespace retentiond
