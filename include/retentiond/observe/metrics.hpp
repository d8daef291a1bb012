#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "retentiond/engine/run_observer.hpp"
#include "retentiond/policy/policy.hpp"

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace retentiond {

/// The daemon's Prometheus metrics (names in docs/monitoring.md). Every series exists from the
/// moment its policy is known, at zero, so a rate() or an alert never starts from "no data".
/// Labels are bounded: policy ids, strategies, statuses, never partition names. Safe to call
/// from the scheduling loop, the workers and the HTTP threads at once.
class Metrics {
 public:
  explicit Metrics(std::string_view version);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  /// Prometheus text exposition format, version 0.0.4.
  [[nodiscard]] std::string scrape() const;

  void database_up(bool up);
  void leader(bool leading);
  /// The policies as the loop last read them (disabled ones included) and how many run now:
  /// new policies get their series, those of policies gone are removed.
  void policies(const std::vector<Policy>& all, std::size_t running);
  void running(std::size_t count);
  /// Per policy, from the schedule: the next slot and the gap between the next two slots.
  void schedule(const std::string& policy_id, std::chrono::sys_seconds next_run,
                std::chrono::seconds interval);
  /// End of the policy's last successful run, by any daemon (from the database).
  void last_success(const std::string& policy_id, std::chrono::sys_seconds when);
  /// A live plan: what it found expired is pending until its actions succeed.
  void planned(const PolicyPlan& plan);
  /// A failed run of the policy will be retried before its next slot.
  void retry_scheduled(const std::string& policy_id);
  /// The policy failed retry.max_attempts retries in a row (until a run succeeds).
  void gave_up(const std::string& policy_id, bool gave_up);
  /// A policy whose schedule does not parse: it has no next run.
  void unscheduled(const std::string& policy_id);
  /// A run that failed as a whole (no plan, or its session broke): one failed job, so the
  /// failure alert fires also when no action was ever attempted.
  void run_failed(const std::string& policy_id, const std::string& strategy);
  /// Slots of a policy that came while its previous run was still going (skipped, not queued).
  void runs_skipped(const std::string& policy_id, int slots);
  /// One recorded action: counters, the duration histogram, and one less pending.
  void action_finished(const ActionResult& result);

 private:
  struct PolicySeries;
  PolicySeries* find(const std::string& policy_id);
  void add_series(const Policy& policy);
  void remove_series(const std::string& policy_id);
  void remove_schedule(PolicySeries& series);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Gauge* database_up_;
  prometheus::Gauge* is_leader_;
  prometheus::Gauge* enabled_;
  prometheus::Gauge* disabled_;
  prometheus::Gauge* invalid_;
  prometheus::Gauge* running_;
  prometheus::Family<prometheus::Counter>* jobs_;
  prometheus::Family<prometheus::Histogram>* durations_;
  prometheus::Family<prometheus::Counter>* partitions_;
  prometheus::Family<prometheus::Counter>* rows_;
  prometheus::Family<prometheus::Counter>* bytes_;
  prometheus::Family<prometheus::Gauge>* last_success_;
  prometheus::Family<prometheus::Gauge>* next_run_;
  prometheus::Family<prometheus::Gauge>* interval_;
  prometheus::Family<prometheus::Gauge>* pending_;
  prometheus::Family<prometheus::Counter>* skipped_runs_;
  prometheus::Family<prometheus::Counter>* retries_;
  prometheus::Family<prometheus::Gauge>* gave_up_;
  std::map<std::string, prometheus::Histogram*> by_strategy_;

  std::mutex mutex_;  ///< guards series_: a worker's update never meets a removed series
  std::map<std::string, std::unique_ptr<PolicySeries>> series_;
};

/// Feeds a live run into the metrics as it happens.
class MetricsObserver : public RunObserver {
 public:
  explicit MetricsObserver(Metrics& metrics) : metrics_(metrics) {}
  void executing(const PolicyPlan& plan) override { metrics_.planned(plan); }
  void action_finished(const ActionResult& result) override { metrics_.action_finished(result); }
  /// A plan that failed (table gone, tablespace missing) counts as a failed job: jobs_log
  /// records it as one.
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) override {
    if (plan.error && results.empty()) metrics_.run_failed(plan.policy.id, plan.policy.strategy);
  }

 private:
  Metrics& metrics_;
};

}  // namespace retentiond
