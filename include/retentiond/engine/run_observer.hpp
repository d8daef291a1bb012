#pragma once

#include <vector>

#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/plan.hpp"

namespace retentiond {

/// The result of one action of a run, for the report.
struct ActionResult {
  const Action* action = nullptr;
  JobOutcome outcome;
  /// Wall time of the action; the drops of one transaction share its time evenly. 0 when it
  /// was not attempted.
  double seconds = 0;
};

/// Sees a run as it happens: each policy's plan and, in a live run, what became of its actions,
/// each as soon as it is recorded. Output and metrics follow the run, and a run never holds the
/// plans of a whole large catalog at once. Calls never overlap. `finished` comes policy by
/// policy in id order; when a run works on several tables at once (RunRequest::sessions),
/// `executing` and `action_finished` of different tables may interleave.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  /// Before planning: the selected policies, in the order they will be reported.
  virtual void started(const std::vector<Policy>& policies) { (void)policies; }
  /// A live run's plan, before its first action (not called for a dry run or a failed plan).
  virtual void executing(const PolicyPlan& plan) { (void)plan; }
  /// One action of a live run is recorded in jobs_log.
  virtual void action_finished(const ActionResult& result) { (void)result; }
  /// `results` is empty for a dry run and for a policy whose plan failed (`plan.error`).
  virtual void finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) {
    (void)plan;
    (void)results;
  }
};

}  // namespace retentiond
