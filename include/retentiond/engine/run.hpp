#pragma once

#include <chrono>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "retentiond/config/config.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/engine/executor.hpp"
#include "retentiond/engine/plan.hpp"

namespace retentiond {

struct RunRequest {
  bool dry_run = false;
  std::vector<std::string> policy_ids;  ///< empty: every enabled policy
  std::vector<std::string> tags;        ///< policies carrying all of them
  std::chrono::sys_seconds now{};       ///< `--as-of`, or the clock
};

struct RunReport {
  bool dry_run = false;
  std::chrono::sys_seconds now{};
  std::vector<PolicyPlan> plans;      ///< one per selected policy, ordered by policy id
  std::vector<ActionResult> results;  ///< empty for a dry run
  [[nodiscard]] bool failed() const;
};

/// `run --once`: selects policies, reads the catalog for all of them at once, plans, and
/// unless `dry_run` executes and records. A dry run reads only: it never constructs a writer.
/// Unknown ids in `policy_ids` are a usage Error before anything happens. Policies named by
/// id run even when disabled; selection by tags or all skips disabled ones.
RunReport run_once(pqxx::connection& connection, const Config& config, const Dialect& dialect,
                   const RunRequest& request);

}  // namespace retentiond
