#pragma once

#include <cstddef>
#include <mutex>
#include <optional>
#include <vector>

#include "retentiond/engine/run.hpp"
#include "retentiond/engine/run_observer.hpp"

namespace retentiond {

/// Stands between the sessions of a run and its observer. Sessions finish policies in any
/// order; the observer still sees one call at a time and `finished` in policy order, exactly as
/// a one-session run shows it. A policy finished early is held (plan and results) until every
/// policy before it is reported (with several sessions, a run may hold many: see
/// RunRequest::sessions). Also counts the run's summary.
class OrderedReport final : public RunObserver {
 public:
  OrderedReport(RunObserver& observer, std::size_t policies);

  void executing(const PolicyPlan& plan) override;
  void action_finished(const ActionResult& result) override;
  /// Policy number `index` (its place in the run) is done.
  void done(std::size_t index, PolicyPlan plan, std::vector<ActionResult> results);
  /// The run broke off: what is held is reported now, in order, past the policies that never
  /// finished (their work may be committed: jobs_log has it, and so should the report).
  void flush_held();
  [[nodiscard]] RunSummary summary() const;

 private:
  struct Done {
    PolicyPlan plan;
    std::vector<ActionResult> results;  ///< point into `plan.actions`, whose buffer moves along
  };
  void report(const Done& done);

  mutable std::mutex mutex_;
  RunObserver& observer_;
  std::vector<std::optional<Done>> waiting_;
  std::size_t next_ = 0;
  RunSummary summary_;
};

}  // namespace retentiond
