#include "retentiond/observe/metrics.hpp"

#include <array>
#include <set>

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "retentiond/strategy/strategy.hpp"

namespace retentiond {
namespace {

constexpr std::array<std::string_view, 4> kStatuses = {"succeeded", "failed", "skipped", "abandoned"};

// From a 5 ms drop to a four-hour snapshot of a large partition: roughly 2-2.5x apart, so a
// quantile is never off by more than a step anywhere in that range.
const prometheus::Histogram::BucketBoundaries& duration_buckets() {
  static const prometheus::Histogram::BucketBoundaries buckets{0.005, 0.01, 0.025, 0.05, 0.1,  0.25, 0.5,
                                                               1,     2.5,  5,     10,   30,   60,   120,
                                                               300,   600,  1800,  3600, 7200, 14400};
  return buckets;
}

double epoch_seconds(std::chrono::sys_seconds t) { return static_cast<double>(t.time_since_epoch().count()); }

}  // namespace

struct Metrics::PolicySeries {
  std::string strategy;
  std::array<prometheus::Counter*, kStatuses.size()> jobs{};
  prometheus::Counter* partitions = nullptr;
  prometheus::Counter* rows = nullptr;
  prometheus::Counter* bytes = nullptr;
  prometheus::Gauge* last_success = nullptr;
  prometheus::Gauge* next_run = nullptr;
  prometheus::Gauge* interval = nullptr;
  prometheus::Gauge* pending = nullptr;
  prometheus::Counter* skipped_runs = nullptr;
  prometheus::Counter* retries = nullptr;
  prometheus::Gauge* gave_up = nullptr;
};

Metrics::Metrics(std::string_view version) : registry_(std::make_shared<prometheus::Registry>()) {
  using namespace prometheus;
  BuildGauge()
      .Name("retentiond_build_info")
      .Help("Always 1; the version label says which retentiond runs")
      .Register(*registry_)
      .Add({{"version", std::string(version)}})
      .Set(1);
  database_up_ = &BuildGauge()
                      .Name("retentiond_database_up")
                      .Help("1 when the control connection is up and the retention schema is current")
                      .Register(*registry_)
                      .Add({});
  is_leader_ = &BuildGauge()
                    .Name("retentiond_is_leader")
                    .Help("1 when this instance holds the scheduler lease and runs policies")
                    .Register(*registry_)
                    .Add({});
  auto& states = BuildGauge().Name("retentiond_policies").Help("Policies by state").Register(*registry_);
  enabled_ = &states.Add({{"state", "enabled"}});
  disabled_ = &states.Add({{"state", "disabled"}});
  invalid_ = &states.Add({{"state", "invalid"}});
  running_ = &states.Add({{"state", "running"}});
  jobs_ = &BuildCounter()
               .Name("retentiond_jobs_total")
               .Help("Actions recorded in jobs_log, by policy, strategy and final status")
               .Register(*registry_);
  durations_ = &BuildHistogram()
                    .Name("retentiond_job_duration_seconds")
                    .Help("Wall time of an action; the drops of one transaction share its time")
                    .Register(*registry_);
  for (const StrategySpec* spec : all_strategies()) {
    by_strategy_[std::string(spec->name)] =
        &durations_->Add({{"strategy", std::string(spec->name)}}, duration_buckets());
  }
  partitions_ = &BuildCounter()
                     .Name("retentiond_partitions_processed_total")
                     .Help("Partitions dropped, detached, moved or archived")
                     .Register(*registry_);
  rows_ = &BuildCounter()
               .Name("retentiond_rows_deleted_total")
               .Help("Rows deleted from plain tables (batched deletes, committed batches)")
               .Register(*registry_);
  bytes_ = &BuildCounter()
                .Name("retentiond_bytes_archived_total")
                .Help("Compressed bytes written to snapshot archives")
                .Register(*registry_);
  last_success_ = &BuildGauge()
                       .Name("retentiond_last_success_timestamp_seconds")
                       .Help("End of the policy's last successful run (by any instance); 0 = never")
                       .Register(*registry_);
  next_run_ = &BuildGauge()
                   .Name("retentiond_next_run_timestamp_seconds")
                   .Help("When the policy is next due (enabled policies, once scheduled)")
                   .Register(*registry_);
  interval_ = &BuildGauge()
                   .Name("retentiond_schedule_interval_seconds")
                   .Help("Seconds between the policy's next two scheduled slots")
                   .Register(*registry_);
  pending_ = &BuildGauge()
                  .Name("retentiond_expired_partitions_pending")
                  .Help(
                      "Expired partitions (or tables with expired rows) that the policy's latest plan "
                      "found and that are not processed yet")
                  .Register(*registry_);
  skipped_runs_ = &BuildCounter()
                       .Name("retentiond_runs_skipped_total")
                       .Help("Scheduled slots skipped because the policy's previous run was still going")
                       .Register(*registry_);
  retries_ = &BuildCounter()
                  .Name("retentiond_retries_total")
                  .Help("Retries scheduled after a failed run (retry.*)")
                  .Register(*registry_);
  gave_up_ =
      &BuildGauge()
           .Name("retentiond_policy_gave_up")
           .Help("1 while the policy has failed retry.max_attempts retries in a row (until a run succeeds)")
           .Register(*registry_);
}

Metrics::~Metrics() = default;

std::string Metrics::scrape() const { return prometheus::TextSerializer().Serialize(registry_->Collect()); }

void Metrics::database_up(bool up) { database_up_->Set(up ? 1 : 0); }

void Metrics::leader(bool leading) {
  is_leader_->Set(leading ? 1 : 0);
  if (leading) return;
  // What this instance's runs left pending is the new leader's to report now; a stale count
  // here would keep "falling behind" firing after the new leader caught up.
  std::lock_guard lock(mutex_);
  for (auto& [id, s] : series_) {
    s->pending->Set(0);
    s->gave_up->Set(0);  // the retry state is the leader's; it reports its own
  }
}

void Metrics::running(std::size_t count) { running_->Set(static_cast<double>(count)); }

void Metrics::policies(const std::vector<Policy>& all, std::size_t running_count) {
  std::lock_guard lock(mutex_);
  std::set<std::string> present;
  double enabled = 0;
  double invalid = 0;
  for (const auto& policy : all) {
    present.insert(policy.id);
    // An invalid row is neither enabled nor disabled: it never runs until it is repaired.
    invalid += policy.invalid_reason ? 1 : 0;
    enabled += policy.enabled && !policy.invalid_reason ? 1 : 0;
    const auto it = series_.find(policy.id);
    if (it != series_.end() && it->second->strategy != policy.strategy) remove_series(policy.id);
    if (!series_.contains(policy.id)) add_series(policy);
    // A disabled policy has no schedule: no "next run" and no interval that an alert on
    // "no success for twice the schedule" would measure it against.
    if (!policy.enabled) {
      PolicySeries& s = *series_.at(policy.id);
      remove_schedule(s);
      s.pending->Set(0);  // nothing is pending for a policy that will not run
      s.gave_up->Set(0);
    }
  }
  for (auto it = series_.begin(); it != series_.end();) {
    const auto next = std::next(it);
    if (!present.contains(it->first)) remove_series(it->first);
    it = next;
  }
  enabled_->Set(enabled);
  disabled_->Set(static_cast<double>(all.size()) - enabled - invalid);
  invalid_->Set(invalid);
  running_->Set(static_cast<double>(running_count));
}

void Metrics::add_series(const Policy& policy) {
  auto s = std::make_unique<PolicySeries>();
  s->strategy = policy.strategy;
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    s->jobs[i] = &jobs_->Add(
        {{"policy", policy.id}, {"strategy", policy.strategy}, {"status", std::string(kStatuses[i])}});
  }
  s->partitions = &partitions_->Add({{"policy", policy.id}, {"strategy", policy.strategy}});
  s->rows = &rows_->Add({{"policy", policy.id}});
  s->bytes = &bytes_->Add({{"policy", policy.id}});
  s->last_success = &last_success_->Add({{"policy", policy.id}});
  s->pending = &pending_->Add({{"policy", policy.id}});
  s->skipped_runs = &skipped_runs_->Add({{"policy", policy.id}});
  s->retries = &retries_->Add({{"policy", policy.id}});
  s->gave_up = &gave_up_->Add({{"policy", policy.id}});
  series_[policy.id] = std::move(s);
}

void Metrics::remove_series(const std::string& policy_id) {
  const auto it = series_.find(policy_id);
  if (it == series_.end()) return;
  const PolicySeries& s = *it->second;
  for (auto* counter : s.jobs) jobs_->Remove(counter);
  partitions_->Remove(s.partitions);
  rows_->Remove(s.rows);
  bytes_->Remove(s.bytes);
  last_success_->Remove(s.last_success);
  pending_->Remove(s.pending);
  skipped_runs_->Remove(s.skipped_runs);
  retries_->Remove(s.retries);
  gave_up_->Remove(s.gave_up);
  remove_schedule(*it->second);
  series_.erase(it);
}

void Metrics::remove_schedule(PolicySeries& s) {
  if (s.next_run != nullptr) next_run_->Remove(s.next_run);
  if (s.interval != nullptr) interval_->Remove(s.interval);
  s.next_run = nullptr;
  s.interval = nullptr;
}

Metrics::PolicySeries* Metrics::find(const std::string& policy_id) {
  const auto it = series_.find(policy_id);
  return it == series_.end() ? nullptr : it->second.get();
}

void Metrics::schedule(const std::string& policy_id, std::chrono::sys_seconds next_run,
                       std::chrono::seconds interval) {
  std::lock_guard lock(mutex_);
  PolicySeries* s = find(policy_id);
  if (s == nullptr) return;
  // Created here, not with the policy's other series: until the scheduler has placed the
  // policy there is no next run to report, and a 0 would read as "overdue since 1970".
  if (s->next_run == nullptr) s->next_run = &next_run_->Add({{"policy", policy_id}});
  if (s->interval == nullptr) s->interval = &interval_->Add({{"policy", policy_id}});
  s->next_run->Set(epoch_seconds(next_run));
  s->interval->Set(static_cast<double>(interval.count()));
}

void Metrics::last_success(const std::string& policy_id, std::chrono::sys_seconds when) {
  std::lock_guard lock(mutex_);
  if (PolicySeries* s = find(policy_id)) s->last_success->Set(epoch_seconds(when));
}

void Metrics::retry_scheduled(const std::string& policy_id) {
  std::lock_guard lock(mutex_);
  if (PolicySeries* s = find(policy_id)) s->retries->Increment();
}

void Metrics::gave_up(const std::string& policy_id, bool gave_up) {
  std::lock_guard lock(mutex_);
  if (PolicySeries* s = find(policy_id)) s->gave_up->Set(gave_up ? 1 : 0);
}

void Metrics::unscheduled(const std::string& policy_id) {
  std::lock_guard lock(mutex_);
  if (PolicySeries* s = find(policy_id)) {
    remove_schedule(*s);
    s->pending->Set(0);
  }
}

void Metrics::run_failed(const std::string& policy_id, const std::string& strategy) {
  std::lock_guard lock(mutex_);
  PolicySeries* s = find(policy_id);
  if (s == nullptr || s->strategy != strategy) return;
  s->jobs[1]->Increment();  // kStatuses[1]: failed
}

void Metrics::runs_skipped(const std::string& policy_id, int slots) {
  std::lock_guard lock(mutex_);
  if (PolicySeries* s = find(policy_id)) s->skipped_runs->Increment(slots);
}

void Metrics::planned(const PolicyPlan& plan) {
  std::lock_guard lock(mutex_);
  if (PolicySeries* s = find(plan.policy.id)) s->pending->Set(static_cast<double>(plan.actions.size()));
}

void Metrics::action_finished(const ActionResult& result) {
  const Action& action = *result.action;
  const JobOutcome& outcome = result.outcome;
  if (outcome.status != "skipped") {
    if (const auto it = by_strategy_.find(action.strategy); it != by_strategy_.end()) {
      it->second->Observe(result.seconds);
    }
  }
  std::lock_guard lock(mutex_);
  PolicySeries* s = find(action.policy_id);
  if (s == nullptr) return;  // removed while it ran
  for (std::size_t i = 0; i < kStatuses.size(); ++i) {
    if (outcome.status == kStatuses[i]) s->jobs[i]->Increment();
  }
  if (action.kind == ActionKind::delete_rows && outcome.rows) {
    // Committed batches count even when a later one failed or the run stopped.
    s->rows->Increment(static_cast<double>(*outcome.rows));
  }
  if (outcome.status != "succeeded") return;
  if (action.partition) s->partitions->Increment();
  if (action.kind == ActionKind::snapshot_partition && outcome.bytes) {
    s->bytes->Increment(static_cast<double>(*outcome.bytes));
  }
  s->pending->Set(std::max(0.0, s->pending->Value() - 1));
}

}  // namespace retentiond
