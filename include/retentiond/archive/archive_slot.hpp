#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "retentiond/archive/manifest.hpp"

namespace retentiond {

/// Where the archive of one incarnation of a partition is written.
///
/// The natural name is `<partition>.copy.zst` / `<partition>.manifest.json`, but a partition
/// name can be used again (a table dropped and re-created, a name re-used) and expire again:
/// an archive of another incarnation under that name is never replaced. The candidates, in
/// order, are the natural name, `<partition>.<partition oid>-<relfilenode>` and that followed by
/// `-<created_at as 20240102T030405Z>`; the first whose manifest is absent or describes this same
/// incarnation is taken. Same incarnation: identity, table, partition and bound text equal; a
/// re-run after a crash between the manifest and the DROP finds its own archive again and
/// replaces it. A manifest that cannot be read, or has no identity (version 1), is another
/// incarnation: kept.
struct ArchiveSlot {
  ArchivePaths paths;
  std::string suffix;  ///< what archive_paths() was given
  /// The name held an archive of this same incarnation (it is replaced).
  bool same_incarnation = false;
};

/// `incoming` gives the names, bound text, identity and created_at of the new archive; `table`
/// (the policy's) names the directory, as in archive_paths(). Throws std::runtime_error when
/// every candidate holds another incarnation's archive.
[[nodiscard]] ArchiveSlot choose_archive_slot(const std::filesystem::path& repository,
                                              const QualifiedName& table, const Manifest& incoming,
                                              Compression compression);

/// `.16390-16391` for an identity; the suffix choose_archive_slot tries second.
[[nodiscard]] std::string identity_suffix(const PartitionIdentity& identity);

}  // namespace retentiond
