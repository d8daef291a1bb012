#include "retentiond/archive/archive_writer.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zstd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>
#include <system_error>
#include <vector>

#include "retentiond/archive/sha256.hpp"
#include "retentiond/core/error.hpp"

namespace fs = std::filesystem;

namespace retentiond {
namespace {

// Compression level 3 is zstd's default: several hundred MB/s per core, so the COPY stream and
// not the compressor stays the bottleneck, at a ratio close to gzip -9 on row data.
constexpr int kZstdLevel = 3;
// Raw data is gathered into blocks of this size before it meets the compressor: COPY hands
// over one row at a time, and one compressor call per row would cost more than the rows.
constexpr std::size_t kInputBlock = std::size_t{1} << 20;

[[noreturn]] void fail(const std::string& what, const fs::path& path, int error) {
  throw std::runtime_error(what + " " + path.string() + ": " + std::system_category().message(error));
}

void write_all(int fd, const char* data, std::size_t size, const fs::path& path) {
  while (size > 0) {
    const ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("cannot write", path, errno);
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
}

void fsync_fd(int fd, const fs::path& path) {
  while (::fsync(fd) != 0) {
    if (errno != EINTR) fail("cannot fsync", path, errno);
  }
}

fs::path directory_of(const fs::path& path) {
  fs::path parent = path.parent_path();
  return parent.empty() ? fs::path(".") : parent;
}

}  // namespace

Compression parse_compression(std::string_view text) {
  if (text == "zstd") return Compression::zstd;
  if (text == "none") return Compression::none;
  throw usage_error("invalid compression \"" + std::string(text) + "\": expected zstd or none");
}

std::string_view compression_name(Compression compression) {
  return compression == Compression::zstd ? "zstd" : "none";
}

std::string_view data_file_suffix(Compression compression) {
  return compression == Compression::zstd ? ".copy.zst" : ".copy";
}

fs::path temporary_path(const fs::path& final_path) {
  fs::path tmp = final_path;
  tmp += ".tmp-" + std::to_string(::getpid());
  return tmp;
}

void fsync_directory(const fs::path& directory) {
  const int fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) fail("cannot open directory", directory, errno);
  int error = 0;
  while (::fsync(fd) != 0) {
    if (errno != EINTR) {
      error = errno;
      break;
    }
  }
  ::close(fd);
  if (error != 0) fail("cannot fsync directory", directory, error);
}

void create_directories_durably(const fs::path& directory) {
  // Walk down from the first missing ancestor: each new directory is an entry in its parent,
  // and that parent must be synced for the entry to survive a crash.
  std::vector<fs::path> missing;
  for (fs::path at = directory; !at.empty() && !fs::exists(at); at = at.parent_path()) {
    missing.push_back(at);
    if (at == at.parent_path()) break;
  }
  std::reverse(missing.begin(), missing.end());
  for (const auto& path : missing) {
    if (::mkdir(path.c_str(), 0750) != 0 && errno != EEXIST) fail("cannot create directory", path, errno);
    fsync_directory(directory_of(path));
  }
  if (!fs::is_directory(directory)) fail("cannot use directory", directory, ENOTDIR);
}

std::size_t remove_stale_temporaries(const fs::path& final_path) {
  const fs::path directory = directory_of(final_path);
  const std::string prefix = final_path.filename().string() + ".tmp-";
  std::size_t removed = 0;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.size() > prefix.size() && name.starts_with(prefix)) {
      if (::unlink(entry.path().c_str()) != 0 && errno != ENOENT) fail("cannot remove", entry.path(), errno);
      ++removed;
    }
  }
  if (ec) throw std::runtime_error("cannot list directory " + directory.string() + ": " + ec.message());
  if (removed > 0) fsync_directory(directory);
  return removed;
}

void write_file_durably(const fs::path& path, std::string_view content) {
  const fs::path tmp = temporary_path(path);
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) fail("cannot create", tmp, errno);
  try {
    write_all(fd, content.data(), content.size(), tmp);
    fsync_fd(fd, tmp);
  } catch (...) {
    ::close(fd);
    ::unlink(tmp.c_str());
    throw;
  }
  if (::close(fd) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    fail("cannot close", tmp, error);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    const int error = errno;
    ::unlink(tmp.c_str());
    fail("cannot rename into", path, error);
  }
  fsync_directory(directory_of(path));
}

struct ArchiveWriter::Impl {
  fs::path final_path;
  fs::path tmp_path;
  Compression compression = Compression::zstd;
  int fd = -1;
  ZSTD_CCtx* zstd = nullptr;
  std::string input;   // raw data not yet handed to the compressor
  std::string output;  // compressor output buffer
  Sha256 hash;
  ArchiveSummary summary;
  bool finished = false;

  // Writes stored (compressed) bytes: the digest and size describe exactly what is on disk.
  void store(const char* data, std::size_t size) {
    write_all(fd, data, size, tmp_path);
    hash.update(std::string_view(data, size));
    summary.bytes += static_cast<std::int64_t>(size);
  }

  // Feeds `input` to the compressor; with ZSTD_e_end also closes the frame.
  void compress(ZSTD_EndDirective mode) {
    ZSTD_inBuffer in{input.data(), input.size(), 0};
    for (;;) {
      ZSTD_outBuffer out{output.data(), output.size(), 0};
      const std::size_t remaining = ZSTD_compressStream2(zstd, &out, &in, mode);
      if (ZSTD_isError(remaining)) {
        throw std::runtime_error("zstd compression failed for " + tmp_path.string() + ": " +
                                 ZSTD_getErrorName(remaining));
      }
      store(output.data(), out.pos);
      // e_continue is done when all input is consumed; e_end when the frame is flushed too.
      const bool done = mode == ZSTD_e_end ? remaining == 0 : in.pos == in.size;
      if (done) break;
    }
    input.clear();
  }

  void flush_input(bool last) {
    if (compression == Compression::zstd) {
      compress(last ? ZSTD_e_end : ZSTD_e_continue);
    } else {
      store(input.data(), input.size());
      input.clear();
    }
  }
};

ArchiveWriter::ArchiveWriter(fs::path final_path, Compression compression) : impl_(std::make_unique<Impl>()) {
  impl_->final_path = std::move(final_path);
  impl_->tmp_path = temporary_path(impl_->final_path);
  impl_->compression = compression;
  if (compression == Compression::zstd) {
    impl_->zstd = ZSTD_createCCtx();
    if (impl_->zstd == nullptr) throw std::runtime_error("cannot create a zstd compression context");
    // The frame checksum lets the decompressor itself notice a corrupted frame, in addition to
    // the sha256 of the whole file.
    ZSTD_CCtx_setParameter(impl_->zstd, ZSTD_c_compressionLevel, kZstdLevel);
    ZSTD_CCtx_setParameter(impl_->zstd, ZSTD_c_checksumFlag, 1);
    impl_->output.resize(ZSTD_CStreamOutSize());
  }
  impl_->input.reserve(kInputBlock);
  // O_EXCL: a file of this name is a leftover of an earlier process with our pid; refusing is
  // safer than appending to it (the caller clears leftovers first).
  impl_->fd = ::open(impl_->tmp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (impl_->fd < 0) {
    const int error = errno;
    ZSTD_freeCCtx(impl_->zstd);
    fail("cannot create", impl_->tmp_path, error);
  }
}

ArchiveWriter::~ArchiveWriter() {
  if (impl_->fd >= 0) ::close(impl_->fd);
  if (!impl_->finished) ::unlink(impl_->tmp_path.c_str());
  ZSTD_freeCCtx(impl_->zstd);
}

const fs::path& ArchiveWriter::temporary() const { return impl_->tmp_path; }

void ArchiveWriter::write(std::string_view data) {
  if (impl_->finished) throw std::logic_error("ArchiveWriter::write after finish");
  impl_->summary.raw_bytes += static_cast<std::int64_t>(data.size());
  impl_->summary.rows += std::count(data.begin(), data.end(), '\n');
  while (!data.empty()) {
    const std::size_t take = std::min(data.size(), kInputBlock - impl_->input.size());
    impl_->input.append(data.substr(0, take));
    data.remove_prefix(take);
    if (impl_->input.size() == kInputBlock) impl_->flush_input(false);
  }
}

ArchiveSummary ArchiveWriter::finish() {
  if (impl_->finished) throw std::logic_error("ArchiveWriter::finish called twice");
  impl_->flush_input(true);
  // The order is the point: data durable on disk, then the name, then the name durable. After
  // the rename, the final name never refers to a partial file, crash or not.
  fsync_fd(impl_->fd, impl_->tmp_path);
  const int fd = impl_->fd;
  impl_->fd = -1;
  if (::close(fd) != 0) fail("cannot close", impl_->tmp_path, errno);
  if (::rename(impl_->tmp_path.c_str(), impl_->final_path.c_str()) != 0) {
    fail("cannot rename into", impl_->final_path, errno);
  }
  impl_->finished = true;
  fsync_directory(directory_of(impl_->final_path));
  impl_->summary.sha256 = impl_->hash.hex_digest();
  return impl_->summary;
}

}  // namespace retentiond
