#include "retentiond/engine/snapshot.hpp"

#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <string_view>

#include <spdlog/spdlog.h>

#include "retentiond/archive/archive_reader.hpp"
#include "retentiond/archive/archive_slot.hpp"
#include "retentiond/archive/archive_writer.hpp"
#include "retentiond/archive/manifest.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/libpq_session.hpp"

namespace fs = std::filesystem;

namespace retentiond {
namespace {

// The columns COPY writes without a column list, in its order: generated and dropped columns
// are not part of the data.
constexpr std::string_view kColumnsSql = R"sql(
SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod), a.attnotnull
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''
ORDER BY a.attnum)sql";

// The partition's parent and bound as the catalog has them inside our transaction (after the
// lock), which is what a restore must re-create; and its identity (see PartitionIdentity).
constexpr std::string_view kPartitionSql = R"sql(
SELECT c.relispartition, COALESCE(pg_catalog.pg_get_expr(c.relpartbound, c.oid), ''), pn.nspname, p.relname,
       c.oid, c.relfilenode, COALESCE(p.oid, 0)
FROM pg_catalog.pg_class c
LEFT JOIN pg_catalog.pg_inherits i ON i.inhrelid = c.oid AND c.relispartition
LEFT JOIN pg_catalog.pg_class p ON p.oid = i.inhparent
LEFT JOIN pg_catalog.pg_namespace pn ON pn.oid = p.relnamespace
WHERE c.oid = $1::regclass)sql";

struct PartitionFacts {
  QualifiedName parent;
  std::string bound_text;
  std::vector<ColumnDefinition> columns;
  PartitionIdentity identity;
};

PartitionFacts read_partition(LibpqSession& session, const QualifiedName& partition,
                              const QualifiedName& table) {
  PartitionFacts facts{.parent = table, .bound_text = {}, .columns = {}, .identity = {}};
  const auto rows = session.query(std::string(kPartitionSql), {partition.quoted()});
  if (rows.size() != 1)
    throw std::runtime_error("partition " + partition.display() + " is not in the catalog");
  if (rows[0][0] == "t" && rows[0][2] && rows[0][3]) {
    facts.bound_text = rows[0][1].value_or("");
    facts.parent = QualifiedName{*rows[0][2], *rows[0][3]};
  }
  facts.identity = PartitionIdentity{.table_oid = std::stoll(rows[0][6].value_or("0")),
                                     .partition_oid = std::stoll(rows[0][4].value_or("0")),
                                     .relfilenode = std::stoll(rows[0][5].value_or("0"))};
  for (const auto& row : session.query(std::string(kColumnsSql), {partition.quoted()})) {
    facts.columns.push_back(ColumnDefinition{row[0].value_or(""), row[1].value_or(""), row[2] == "t"});
  }
  if (facts.columns.empty())
    throw std::runtime_error("partition " + partition.display() + " has no columns to archive");
  return facts;
}

void remove_if_exists(const fs::path& path) {
  std::error_code ec;
  if (fs::remove(path, ec)) fsync_directory(path.parent_path());
  if (ec) throw std::runtime_error("cannot remove " + path.string() + ": " + ec.message());
}

// While the snapshot's own session works, the run's canceller (the daemon at shutdown) knows its
// server process; forgotten before the session ends, so a cancel never reaches a reused pid.
class SideSession {
 public:
  SideSession(const StopRequest* stop, const LibpqSession& session) : stop_(stop) {
    if (stop_ != nullptr) stop_->side_backend_pid = session.backend_pid();
  }
  ~SideSession() {
    if (stop_ != nullptr) stop_->side_backend_pid = 0;
  }
  SideSession(const SideSession&) = delete;
  SideSession& operator=(const SideSession&) = delete;

 private:
  const StopRequest* stop_;
};

// The run's time limits reach this session too. max_runtime: each statement gets the time left
// as its statement_timeout (the server cancels it, 57014).
void limit_statement(LibpqSession& session, const StopRequest* stop, const Config::Database& database) {
  if (stop == nullptr || stop->deadline == std::chrono::steady_clock::time_point::max()) return;
  auto left = std::chrono::ceil<std::chrono::milliseconds>(stop->deadline - std::chrono::steady_clock::now());
  left = std::max(left, std::chrono::milliseconds(1));
  const auto configured =
      std::chrono::duration_cast<std::chrono::milliseconds>(database.statement_timeout.seconds());
  if (configured.count() > 0) left = std::min(left, configured);
  session.execute("SET LOCAL statement_timeout = " + std::to_string(left.count()));
}

// Between statements (verifying a large file takes a while), a run out of time or cancelled at
// shutdown goes no further. It is reported as the cancel it stands for (57014, query_canceled),
// so the executor records it as it records a cancelled statement: failed (max_runtime) or
// abandoned (shutdown).
bool asked_to_stop(const StopRequest* stop) {
  return stop != nullptr && (stop->timed_out() || stop->cancelled);
}

}  // namespace

SnapshotOutcome snapshot_partition(const Config::Database& database, const Action& action,
                                   const RepositoryConfig& repository, const StopRequest* stop) {
  // The planner decides the statements (a dry run prints them); this function only runs them,
  // with the archive work in between.
  if (action.kind != ActionKind::snapshot_partition || !action.partition || action.sql.size() != 2 ||
      !action.sql[0].starts_with("COPY ") || !action.sql[1].starts_with("DROP ")) {
    throw std::logic_error("a snapshot action needs a partition and exactly a COPY and a DROP statement");
  }
  const QualifiedName& partition = *action.partition;
  if (repository.path.empty()) {
    throw std::runtime_error("snapshot repository \"" + action.target + "\" has no path configured");
  }
  const Compression compression = parse_compression(repository.compression);

  // Crash safety, step by step (the partition is dropped only in the final COMMIT):
  //  - killed during COPY: only a `.tmp-PID` file exists; the server rolls the transaction back
  //    when the connection goes, so the partition is untouched. The next run removes the file.
  //  - killed after the data file's rename but before the manifest: a complete data file with
  //    no manifest; nothing claims it; the partition is untouched and the next run redoes it.
  //  - killed after the manifest, before COMMIT: a verified archive and the partition.
  //  - killed during COMMIT: the partition dropped or not, and a verified archive either way.
  // Each of these is about one incarnation of the partition: the archive name it uses is one
  // that is free or already holds this incarnation's archive (choose_archive_slot), so a re-run
  // finds its own leftovers and an archive of an earlier table of the same name is never touched.
  LibpqSession session(database);
  const SideSession side(stop, session);
  session.execute("BEGIN");
  // The archive's text (COPY of dates and timestamps, the manifest's bounds) must read back the
  // same under any setting: ISO dates in UTC, whatever the role's DateStyle and TimeZone.
  session.execute("SET LOCAL TimeZone = 'UTC'");
  session.execute("SET LOCAL DateStyle = 'ISO, YMD'");
  if (action.lock_timeout.count() > 0) {
    session.execute("SET LOCAL lock_timeout = " + std::to_string(action.lock_timeout.count()));
  }
  // SHARE ROW EXCLUSIVE rather than SHARE: both block writers and let readers go on, so the
  // archive and the DROP see the same rows; this one also conflicts with itself, so two
  // daemons (or a daemon and `run --once`) never archive the same partition at once. That is
  // what makes removing the `.tmp-` leftovers below safe: no live writer can own them.
  session.execute("LOCK TABLE " + partition.quoted() + " IN SHARE ROW EXCLUSIVE MODE");
  const PartitionFacts facts = read_partition(session, partition, action.table);

  Manifest manifest;
  manifest.retentiond_version = RETENTIOND_VERSION;
  manifest.table = facts.parent;
  manifest.partition = partition;
  manifest.lower = action.lower;
  manifest.upper = action.upper;
  manifest.bound_text = facts.bound_text;
  manifest.columns = facts.columns;
  manifest.identity = facts.identity;
  manifest.compression = compression;
  manifest.created_at = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  const ArchiveSlot slot = choose_archive_slot(repository.path, action.table, manifest, compression);
  const ArchivePaths& paths = slot.paths;
  if (!slot.suffix.empty()) {
    log_event(spdlog::level::warn, LogEvent::snapshot_stored_beside,
              {{"policy", action.policy_id},
               {"partition", partition.display()},
               {"manifest", paths.manifest.string()}},
              "an archive of another incarnation of this name is kept");
  }

  create_directories_durably(paths.directory);
  const std::size_t stale = remove_stale_temporaries(paths.data) + remove_stale_temporaries(paths.manifest);
  if (stale > 0) {
    log_event(spdlog::level::warn, LogEvent::snapshot_stale_removed,
              {{"policy", action.policy_id}, {"partition", partition.display()}, {"files", stale}},
              "temporary files of an interrupted snapshot");
  }

  std::int64_t copied_rows = 0;
  ArchiveSummary written;
  {
    ArchiveWriter writer(paths.data, compression);
    limit_statement(session, stop, database);
    copied_rows = session.copy_out(action.sql[0], [&](std::string_view row) { writer.write(row); });
    // A manifest from an earlier attempt (one that crashed or failed before its DROP committed)
    // describes the data file about to be replaced: it goes first, so no manifest ever claims
    // a data file it does not describe.
    remove_if_exists(paths.manifest);
    written = writer.finish();
  }
  // An archive that does not verify is removed: no file under a final name is left that a
  // later reader could take for a good one.
  const auto reject = [&](const std::string& what, const std::string& expected, const std::string& found) {
    remove_if_exists(paths.data);
    throw std::runtime_error("archive " + paths.data.string() + " does not verify: " + what + " " + found +
                             ", expected " + expected + "; the partition was not dropped");
  };
  if (written.rows != copied_rows)
    reject("row count", std::to_string(copied_rows), std::to_string(written.rows));

  // Verify what is on disk, not what was meant to be written: read the file back from the start.
  const ArchiveSummary reread = read_archive(paths.data, compression);
  if (reread.sha256 != written.sha256) reject("sha256", written.sha256, reread.sha256);
  if (reread.bytes != written.bytes)
    reject("size", std::to_string(written.bytes), std::to_string(reread.bytes));
  if (reread.rows != copied_rows)
    reject("row count", std::to_string(copied_rows), std::to_string(reread.rows));

  // Verifying a large file takes a while: a run that ran out of time meanwhile stops here.
  if (asked_to_stop(stop)) {
    remove_if_exists(paths.data);  // complete and verified, but no manifest will claim it
    throw LibpqError("the snapshot was cancelled before it finished; the partition was not dropped", "57014");
  }

  manifest.row_count = copied_rows;
  manifest.bytes = written.bytes;
  manifest.uncompressed_bytes = written.raw_bytes;
  manifest.sha256 = written.sha256;
  manifest.data_file = paths.data.filename().string();
  write_manifest(paths.manifest, manifest);
  // Read back through the same validation a restore uses: the manifest that makes the drop
  // acceptable must be one a restore accepts.
  if (read_manifest(paths.manifest) != manifest) {
    throw std::runtime_error("manifest " + paths.manifest.string() +
                             " does not read back as written; the partition was not dropped");
  }
  // An archive of the other compression left by an earlier configuration is described by no
  // manifest any more.
  const Compression other = compression == Compression::zstd ? Compression::none : Compression::zstd;
  remove_if_exists(archive_paths(repository.path, action.table, partition, other, slot.suffix).data);

  limit_statement(session, stop, database);
  session.execute(action.sql[1]);
  session.execute("COMMIT");
  return SnapshotOutcome{.rows = copied_rows, .bytes = written.bytes, .manifest = paths.manifest};
}

}  // namespace retentiond
