#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "retentiond/config/config.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/engine/executor.hpp"
#include "retentiond/engine/plan.hpp"
#include "retentiond/engine/run_observer.hpp"
#include "retentiond/engine/stop.hpp"

namespace retentiond {

struct RunRequest {
  bool dry_run = false;
  std::vector<std::string> policy_ids;  ///< empty: every enabled policy
  std::vector<std::string> tags;        ///< policies carrying all of them
  std::chrono::sys_seconds now{};       ///< `--as-of`, or the clock
  /// Set by the daemon at shutdown: no new action starts, and an action cancelled meanwhile
  /// is recorded `abandoned` rather than `failed`.
  const StopRequest* stop = nullptr;
  /// A live run over several tables works on up to this many at once, each in its own session
  /// (the first is the caller's, the others come from `open_session`); the policies of one table,
  /// or of one partition tree, run in one session (a table's policies archive first: see
  /// archive_first). Clearing a backlog is mostly
  /// waiting for the server and its disk, which a second session overlaps. A dry run uses one.
  /// The report stays in policy order, so a policy finished ahead of its turn is held (plan and
  /// results) until those before it are reported.
  int sessions = 1;
  /// A live run takes the per-table lock the daemon's workers take (try_lock_table) before a
  /// table's first action; a policy whose table another session holds fails with that reason
  /// and runs nothing. Off for the daemon, whose worker holds the lock already.
  bool lock_tables = false;
  std::function<std::unique_ptr<pqxx::connection>()> open_session;
};

/// What a run did, counted: one failed plan counts once in `failed`.
struct RunSummary {
  std::size_t policies = 0;
  std::size_t planned = 0;  ///< actions planned
  std::size_t succeeded = 0;
  std::size_t failed = 0;
  std::size_t skipped = 0;
  [[nodiscard]] bool any_failed() const { return failed > 0; }
};

/// `run --once`: selects policies, reads the catalog for all of them at once, plans, and
/// unless `dry_run` executes and records. A dry run reads only: it never constructs a writer.
/// Unknown ids in `policy_ids` are a usage Error before anything happens. Policies named by
/// id run even when disabled; selection by tags or all skips disabled ones.
RunSummary run_once(pqxx::connection& connection, const Config& config, const Dialect& dialect,
                    const RunRequest& request, RunObserver& observer);

}  // namespace retentiond
