#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "retentiond/config/config.hpp"
#include "retentiond/engine/plan.hpp"
#include "retentiond/engine/stop.hpp"

namespace retentiond {

struct SnapshotOutcome {
  std::int64_t rows = 0;
  std::int64_t bytes = 0;  ///< size of the compressed data file
  std::filesystem::path manifest;
};

/// Archives the partition of a snapshot action into `repository`, verifies the archive, and
/// only then drops the partition, all inside one transaction on a connection of its own (so
/// the archive holds exactly the rows that are dropped, and a crash at any point leaves the
/// partition, a verified archive, or both). Throws std::runtime_error (or a pqxx/libpq error
/// as std::runtime_error) with a one-line reason on failure; nothing is dropped then.
///
/// `stop` (may be null) is the run's: its max_runtime limits the COPY and the DROP
/// (statement_timeout), and the session's server process is published in it, so a cancel at
/// shutdown reaches the COPY too. A cancelled snapshot throws LibpqError with SQLSTATE 57014;
/// its partial data file is removed and no manifest is written.
SnapshotOutcome snapshot_partition(const Config::Database& database, const Action& action,
                                   const RepositoryConfig& repository, const StopRequest* stop = nullptr);

}  // namespace retentiond
