#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "retentiond/archive/archive_writer.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {

/// A column of the archived partition, as the catalog described it when it was archived; in
/// the order COPY wrote the fields.
struct ColumnDefinition {
  std::string name;
  std::string type;  ///< format_type(atttypid, atttypmod): `timestamp with time zone`, `numeric(10,2)`
  bool not_null = false;

  friend bool operator==(const ColumnDefinition&, const ColumnDefinition&) = default;
};

/// Which incarnation of a partition an archive holds. PostgreSQL records no creation time for a
/// relation, so the incarnation is told by what the catalog does record: a re-created table or
/// partition gets new oids, and a rewrite (TRUNCATE, VACUUM FULL) a new relfilenode. Together
/// with the names and the bound they make a re-used name distinguishable from a re-run.
struct PartitionIdentity {
  std::int64_t table_oid = 0;  ///< the parent's oid; 0 when the partition was not attached
  std::int64_t partition_oid = 0;
  std::int64_t relfilenode = 0;

  friend bool operator==(const PartitionIdentity&, const PartitionIdentity&) = default;
};

/// What a snapshot archive holds; stored as `<partition>.manifest.json` next to the data file.
/// A manifest is written only after its data file is complete, durable and verified, so its
/// presence claims a restorable archive.
struct Manifest {
  /// Version 2 added `identity` and `manifest_sha256`; version 1 manifests are still read
  /// (without either).
  static constexpr int kFormatVersion = 2;
  static constexpr int kOldestFormatVersion = 1;

  int format_version = kFormatVersion;  ///< as read; always kFormatVersion when written
  std::string retentiond_version;
  QualifiedName table;      ///< the policy's (parent) table
  QualifiedName partition;  ///< the archived partition
  std::optional<std::chrono::sys_seconds> lower;
  std::optional<std::chrono::sys_seconds> upper;
  /// pg_get_expr of the partition bound: `FOR VALUES FROM ('2024-01-01') TO ('2024-01-02')`;
  /// empty when the archived table was not attached to a parent.
  std::string bound_text;
  std::vector<ColumnDefinition> columns;
  std::int64_t row_count = 0;
  std::int64_t bytes = 0;  ///< size of the data file as stored
  std::int64_t uncompressed_bytes = 0;
  std::string sha256;  ///< of the data file as stored
  Compression compression = Compression::zstd;
  std::string data_file;  ///< file name, relative to the manifest's directory
  std::chrono::sys_seconds created_at{};
  /// Of the partition archived; nullopt in a version 1 manifest (an unknown incarnation).
  std::optional<PartitionIdentity> identity;

  friend bool operator==(const Manifest&, const Manifest&) = default;
};

/// The manifest as pretty-printed JSON (ending with a newline), with its own checksum as the
/// last field, `manifest_sha256`: the sha256 of the document without that field, serialised
/// compactly (no whitespace, keys in the order written).
[[nodiscard]] std::string manifest_to_json(const Manifest& manifest);

/// Parses and validates a manifest. Every problem (not JSON, unsupported format_version, a
/// missing or wrongly typed field, a malformed sha256, a data_file that is not a plain file
/// name, a column name no catalog can hold, and last a manifest_sha256 that does not match the
/// rest) is a usage Error with one line: `manifest SOURCE: field "row_count" must be ...`.
[[nodiscard]] Manifest parse_manifest(std::string_view json, std::string_view source);

/// Reads and parses a manifest file; an unreadable file is a usage Error naming it.
[[nodiscard]] Manifest read_manifest(const std::filesystem::path& path);

/// Writes the manifest crash-safely (temporary file, fsync, rename, fsync of the directory).
void write_manifest(const std::filesystem::path& path, const Manifest& manifest);

/// `2024-01-02T00:00:00Z` (what format_instant writes) back to an instant; strictly that form,
/// nullopt otherwise.
[[nodiscard]] std::optional<std::chrono::sys_seconds> parse_utc(std::string_view text);

/// An identifier as a file name: `%`, `/` and control characters percent-encoded (`%2F`), and a
/// leading `.` too (no hidden files, no `.` or `..`). Distinct names stay distinct.
[[nodiscard]] std::string encode_file_name(std::string_view name);

/// Where the archive of `partition` of `table` lives in a repository:
/// `<repository>/<partition schema>/<table>/<partition>.copy.zst` and `<partition>.manifest.json`.
/// Schema and partition name identify a partition, so two partitions never share files.
struct ArchivePaths {
  std::filesystem::path directory;
  std::filesystem::path data;
  std::filesystem::path manifest;
};
[[nodiscard]] ArchivePaths archive_paths(const std::filesystem::path& repository, const QualifiedName& table,
                                         const QualifiedName& partition, Compression compression);
/// The same, with `suffix` appended to the partition's file name stem: `<partition><suffix>.copy.zst`.
/// The suffix is used as it is: digits, `.` and `-` only (see archive_slot.hpp).
[[nodiscard]] ArchivePaths archive_paths(const std::filesystem::path& repository, const QualifiedName& table,
                                         const QualifiedName& partition, Compression compression,
                                         std::string_view suffix);

}  // namespace retentiond
