#pragma once

#include <cstddef>
#include <filesystem>
#include <string>
#include <string_view>

namespace retentiond {

/// A small file the configuration names (the config file itself, database.password_file).
struct BoundedFile {
  std::string text;
  unsigned permissions = 0;  ///< the st_mode permission bits, e.g. 0600
};

/// Reads `path`, following symlinks, when it is a regular file of at most `limit` bytes.
/// Anything else (a directory, a FIFO, /dev/zero, a file over the limit, one that cannot be
/// opened) is a usage Error (exit 2): "`what` "PATH": why". Never reads more than `limit` + 1
/// bytes and never blocks on a FIFO, so a wrong path cannot exhaust memory or hang the process.
[[nodiscard]] BoundedFile read_bounded_file(const std::filesystem::path& path, std::size_t limit,
                                            std::string_view what);

/// `1 MiB`, `4 KiB`, `100 bytes`: a limit as the messages show it.
[[nodiscard]] std::string format_byte_limit(std::size_t bytes);

}  // namespace retentiond
