#include "retentiond/archive/archive_slot.hpp"

#include <array>
#include <stdexcept>
#include <system_error>

#include "retentiond/core/time.hpp"

namespace fs = std::filesystem;

namespace retentiond {
namespace {

bool same_incarnation(const Manifest& existing, const Manifest& incoming) {
  return existing.identity && incoming.identity && *existing.identity == *incoming.identity &&
         existing.table == incoming.table && existing.partition == incoming.partition &&
         existing.bound_text == incoming.bound_text;
}

// `20240102T030405Z`: format_instant without the characters a file name is better without.
std::string compact_instant(std::chrono::sys_seconds t) {
  std::string out;
  for (const char c : format_instant(t)) {
    if (c != '-' && c != ':') out += c;
  }
  return out;
}

}  // namespace

std::string identity_suffix(const PartitionIdentity& identity) {
  return "." + std::to_string(identity.partition_oid) + "-" + std::to_string(identity.relfilenode);
}

ArchiveSlot choose_archive_slot(const fs::path& repository, const QualifiedName& table,
                                const Manifest& incoming, Compression compression) {
  const PartitionIdentity identity = incoming.identity.value_or(PartitionIdentity{});
  const std::array<std::string, 3> suffixes{
      "", identity_suffix(identity), identity_suffix(identity) + "-" + compact_instant(incoming.created_at)};
  for (const auto& suffix : suffixes) {
    ArchiveSlot slot{archive_paths(repository, table, incoming.partition, compression, suffix), suffix,
                     false};
    std::error_code ec;
    // symlink_status: a dangling link is something at that name too, and is not overwritten.
    const auto status = fs::symlink_status(slot.paths.manifest, ec);
    if (ec && ec != std::errc::no_such_file_or_directory) {
      throw std::runtime_error("cannot look at " + slot.paths.manifest.string() + ": " + ec.message());
    }
    if (!fs::exists(status)) return slot;  // nothing claims the name: a data file here is a leftover
    try {
      slot.same_incarnation = same_incarnation(read_manifest(slot.paths.manifest), incoming);
    } catch (const std::exception&) {
      // Unreadable or not valid: it may still describe data someone needs. Keep it.
      slot.same_incarnation = false;
    }
    if (slot.same_incarnation) return slot;
  }
  throw std::runtime_error(
      "every archive name of " + incoming.partition.display() + " in " +
      archive_paths(repository, table, incoming.partition, compression).directory.string() +
      " holds another archive; the partition was not dropped");
}

}  // namespace retentiond
