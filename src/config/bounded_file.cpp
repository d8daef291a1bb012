#include "retentiond/config/bounded_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <system_error>

#include "retentiond/core/error.hpp"

namespace retentiond {
namespace {

class FileDescriptor {
 public:
  explicit FileDescriptor(int fd) : fd_(fd) {}
  ~FileDescriptor() {
    if (fd_ >= 0) ::close(fd_);
  }
  FileDescriptor(const FileDescriptor&) = delete;
  FileDescriptor& operator=(const FileDescriptor&) = delete;
  [[nodiscard]] int get() const { return fd_; }

 private:
  int fd_;
};

std::string kind_of(mode_t mode) {
  if (S_ISDIR(mode)) return "a directory";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  if (S_ISSOCK(mode)) return "a socket";
  return "not a regular file";
}

}  // namespace

std::string format_byte_limit(std::size_t bytes) {
  if (bytes >= (1U << 20) && bytes % (1U << 20) == 0) return std::to_string(bytes >> 20) + " MiB";
  if (bytes >= 1024 && bytes % 1024 == 0) return std::to_string(bytes >> 10) + " KiB";
  return std::to_string(bytes) + " bytes";
}

BoundedFile read_bounded_file(const std::filesystem::path& path, std::size_t limit, std::string_view what) {
  auto fail = [&](const std::string& why) {
    return usage_error(std::string(what) + " " + quote_input(path.string()) + ": " + why);
  };
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer forever. It does
  // not change how a regular file reads.
  FileDescriptor fd(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY));
  if (fd.get() < 0) throw fail(std::generic_category().message(errno));
  struct stat info {};
  if (::fstat(fd.get(), &info) != 0) throw fail(std::generic_category().message(errno));
  if (S_ISDIR(info.st_mode)) throw fail("is a directory");
  if (!S_ISREG(info.st_mode)) throw fail("is " + kind_of(info.st_mode) + ", not a regular file");
  const auto too_large = [&] { return fail("is larger than " + format_byte_limit(limit)); };
  if (static_cast<unsigned long long>(info.st_size) > limit) throw too_large();

  // The size may change between fstat and read (a file being written): the read itself is
  // bounded too, one byte past the limit telling "too large" from "exactly the limit".
  BoundedFile file;
  file.permissions = static_cast<unsigned>(info.st_mode & 07777);
  file.text.resize(limit + 1);
  std::size_t length = 0;
  while (length < file.text.size()) {
    const ssize_t got = ::read(fd.get(), file.text.data() + length, file.text.size() - length);
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) throw fail(std::generic_category().message(errno));
    if (got == 0) break;
    length += static_cast<std::size_t>(got);
  }
  if (length > limit) throw too_large();
  file.text.resize(length);
  return file;
}

}  // namespace retentiond
