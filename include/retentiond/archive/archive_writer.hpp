#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace retentiond {

/// How an archive's data file is stored (`snapshot.repositories.NAME.compression`).
enum class Compression { none, zstd };

/// `zstd` | `none`; anything else is a usage Error naming the text.
[[nodiscard]] Compression parse_compression(std::string_view text);
[[nodiscard]] std::string_view compression_name(Compression compression);
/// `.copy.zst` or `.copy`: the data file is COPY text format, compressed or not.
[[nodiscard]] std::string_view data_file_suffix(Compression compression);

/// What was written (or read back): the file as stored and the data it holds.
struct ArchiveSummary {
  std::int64_t bytes = 0;      ///< size of the file as stored (compressed)
  std::int64_t raw_bytes = 0;  ///< size of the data before compression
  /// Lines of the uncompressed data. COPY text format writes one row per line and escapes
  /// newlines inside values (`\n`), so this is exactly the row count.
  std::int64_t rows = 0;
  std::string sha256;  ///< lower-case hex digest of the file as stored
};

/// `<final>.tmp-<pid>`: where a file is written before it is renamed into place. The pid keeps
/// two writers apart; the `.tmp-` infix lets a later run recognise leftovers of a crash.
[[nodiscard]] std::filesystem::path temporary_path(const std::filesystem::path& final_path);

/// Streams data into an archive file, compressing and hashing on the way.
///
/// Crash safety: every byte goes to temporary_path(final) first. finish() ends the compressed
/// stream, fsyncs the file, renames it to its final name and fsyncs the directory, so the final
/// name only ever refers to a complete, durable file; a crash before that leaves only a
/// `.tmp-` file, which remove_stale_temporaries() clears. A writer destroyed without finish()
/// (an exception, a failed COPY) removes its temporary file.
class ArchiveWriter {
 public:
  /// Creates the temporary file (the directory must exist). Throws std::runtime_error naming
  /// the path on failure.
  ArchiveWriter(std::filesystem::path final_path, Compression compression);
  ~ArchiveWriter();
  ArchiveWriter(const ArchiveWriter&) = delete;
  ArchiveWriter& operator=(const ArchiveWriter&) = delete;
  ArchiveWriter(ArchiveWriter&&) = delete;
  ArchiveWriter& operator=(ArchiveWriter&&) = delete;

  /// Appends data (any chunking; a row may span calls).
  void write(std::string_view data);
  /// Completes the file as described above and returns what it holds. Call once.
  ArchiveSummary finish();

  [[nodiscard]] const std::filesystem::path& temporary() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Replaces `path` with `content` crash-safely: temporary file, fsync, rename, fsync of the
/// directory. Readers see the old file or the new one, never a part.
void write_file_durably(const std::filesystem::path& path, std::string_view content);

/// fsync of a directory, so that entries created, renamed or removed in it survive a crash.
void fsync_directory(const std::filesystem::path& directory);

/// Creates `directory` and any missing parents, fsyncing each parent that gains an entry, so a
/// file later made durable in it is reachable after a crash too.
void create_directories_durably(const std::filesystem::path& directory);

/// Removes the `<final>.tmp-*` files that crashed writers of `final_path` left behind; returns
/// how many. Only call it while no other live writer can be writing that file (the snapshot
/// holds a self-exclusive lock on the partition).
std::size_t remove_stale_temporaries(const std::filesystem::path& final_path);

}  // namespace retentiond
