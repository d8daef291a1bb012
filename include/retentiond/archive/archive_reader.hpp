#pragma once

#include <filesystem>
#include <functional>
#include <string_view>

#include "retentiond/archive/archive_writer.hpp"

namespace retentiond {

/// Receives the uncompressed data in chunks of any size (a row may span chunks).
using ArchiveSink = std::function<void(std::string_view chunk)>;

/// Reads an archive data file from the start, decompressing it, and returns its size, the
/// sha256 of the stored bytes and the number of rows (lines) it holds; each chunk of
/// uncompressed data also goes to `sink` when one is given. A missing or unreadable file, a
/// corrupt or truncated zstd stream, or data that does not end with a complete line throw
/// std::runtime_error with a one-line message naming the file.
ArchiveSummary read_archive(const std::filesystem::path& path, Compression compression,
                            const ArchiveSink& sink = nullptr);

}  // namespace retentiond
