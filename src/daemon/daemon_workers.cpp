#include <unistd.h>

#include <algorithm>
#include <system_error>

#include "daemon_internal.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/daemon/coordination.hpp"
#include "retentiond/db/audit_pruning.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/table_lock.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/engine/run.hpp"

namespace retentiond::daemon_internal {

namespace {

// Remembers how a policy's run went, for policy_state and the log.
class Outcome final : public MetricsObserver {
 public:
  explicit Outcome(Metrics& metrics) : MetricsObserver(metrics) {}
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) override {
    MetricsObserver::finished(plan, results);
    if (plan.error && !error) error = *plan.error;
    for (const auto& r : results) {
      if (r.outcome.status == "abandoned") abandoned = true;
      // Never started because the daemon is stopping: the run was cut short, not done.
      if (r.outcome.status == "skipped" && r.outcome.error &&
          r.outcome.error->find("shutting down") != std::string::npos) {
        abandoned = true;
      }
      if (r.outcome.status == "failed" && !error) error = r.outcome.error.value_or("failed");
    }
  }
  std::optional<std::string> error;
  bool abandoned = false;
};

}  // namespace

void Daemon::start(const Policy& policy) {
  // No database work here: the scheduler has marked the policy running, and only a finished
  // worker unmarks it, so nothing may fail between the two.
  const auto due = scheduler_->entries().at(policy.id).next_due;
  const auto late = std::chrono::duration_cast<milliseconds>(Clock::now() - due);
  log_event(info, LogEvent::policy_starting,
            {{"policy", policy.id},
             {"table", policy.table.display()},
             {"due", format_instant(due)},
             {"late_ms", std::max<std::int64_t>(0, late.count())}});
  Worker& worker = workers_.emplace_back();
  worker.policy_id = policy.id;
  if (const auto limit = policy.options.find("max_runtime"); limit != policy.options.end()) {
    // Validated when the policy was written; a hand-edited row that does not parse means none.
    try {
      worker.stop.deadline = std::chrono::steady_clock::now() + Duration::parse(limit->second).seconds();
      worker.stop.max_runtime = limit->second;
    } catch (const Error&) {
    }
  }
  if (stop_) worker.stop.cause = StopCause::shutdown;
  metrics_.running(scheduler_->running());
  try {
    worker.thread = std::thread([this, &worker, config = shared_config_, policy, now = seconds_now()] {
      work(worker, config, policy, now);
    });
  } catch (const std::system_error& e) {
    workers_.pop_back();
    scheduler_->finished(policy.id, seconds_now());
    log_event(err, LogEvent::policy_not_started, {{"policy", policy.id}, {"error", e.what()}});
  }
}

void Daemon::work(Worker& worker, std::shared_ptr<const Config> config_ptr, Policy policy,
                  std::chrono::sys_seconds now) {
  const Config& config = *config_ptr;
  const auto started = std::chrono::steady_clock::now();
  Completion done{.policy_id = policy.id, .status = "succeeded", .error = std::nullopt};
  try {
    auto connection = connect(config.database);
    worker.backend_pid = connection->backendpid();
    // Whatever the lease says during a hand-over, a table is worked on in one session at a
    // time: the lock goes with the session, so a daemon killed mid-run frees it at once.
    if (!try_lock_table(*connection, config.database.schema, policy.table)) {
      done.status = "skipped";
      done.error = "another session is working on " + policy.table.display();
    } else {
      PolicyStateStore(config.database.schema).started(*connection, policy.id, instance_);
      const auto dialect = make_dialect(config.database.dialect, *connection);
      RunRequest request;
      request.policy_ids = {policy.id};
      request.now = now;
      request.stop = &worker.stop;
      Outcome outcome(metrics_);
      const RunSummary summary = run_once(*connection, config, *dialect, request, outcome);
      done.error = outcome.error;
      done.status = outcome.abandoned ? "abandoned" : summary.any_failed() ? "failed" : "succeeded";
      // Out of time with work left (the last action finished, but later ones never started):
      // a failure, so the retry schedule takes it up.
      if (done.status == "succeeded" && worker.stop.timed_out() && summary.succeeded < summary.planned) {
        done.status = "failed";
        done.error = "the run reached max_runtime " + worker.stop.max_runtime;
      }
      log_event(info, LogEvent::policy_finished,
                {{"policy", policy.id},
                 {"status", done.status},
                 {"table", policy.table.display()},
                 {"planned", summary.planned},
                 {"succeeded", summary.succeeded},
                 {"failed", summary.failed},
                 {"skipped", summary.skipped},
                 {"duration_ms", elapsed_ms(started)}});
    }
    worker.backend_pid = 0;  // before the session ends: a cancel must never reach a reused pid
  } catch (const std::exception& e) {
    worker.backend_pid = 0;
    done.status = "failed";
    done.error = first_line(e.what());
    metrics_.run_failed(policy.id, policy.strategy);
    log_event(err, LogEvent::policy_failed,
              {{"policy", policy.id}, {"table", policy.table.display()}, {"error", *done.error}});
  }
  {
    std::lock_guard lock(completions_mutex_);
    completions_.push_back(std::move(done));
  }
  worker.done = true;
  const std::uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Daemon::start_pruning() {
  // On a thread of its own: a first pruning of millions of rows takes seconds, and the loop
  // must go on renewing the lease meanwhile.
  Worker& worker = workers_.emplace_back();
  worker.policy_id = kAuditWorker;
  pruning_ = true;
  const auto config = shared_config_;
  try {
    worker.thread = std::thread([this, &worker, config] {
      Completion done{.policy_id = kAuditWorker, .status = "succeeded", .error = std::nullopt};
      const auto started = std::chrono::steady_clock::now();
      try {
        auto connection = connect(config->database);
        worker.backend_pid = connection->backendpid();
        const auto cutoff = config->audit.keep.before(seconds_now());
        const AuditPruned pruned = prune_audit(*connection, config->database.schema, cutoff, 10'000, &stop_);
        worker.backend_pid = 0;
        log_event(info, LogEvent::audit_pruned,
                  {{"jobs_log", pruned.jobs_log},
                   {"policy_events", pruned.policy_events},
                   {"before", format_instant(cutoff)},
                   {"duration_ms", elapsed_ms(started)}});
      } catch (const std::exception& e) {
        worker.backend_pid = 0;
        done.status = "failed";
        done.error = first_line(e.what());
        log_event(err, LogEvent::audit_prune_failed, {{"error", *done.error}}, "trying again in an hour");
      }
      {
        std::lock_guard lock(completions_mutex_);
        completions_.push_back(std::move(done));
      }
      worker.done = true;
      const std::uint64_t one = 1;
      (void)!::write(wake_fd_, &one, sizeof one);
    });
  } catch (const std::system_error&) {
    workers_.pop_back();
    pruning_ = false;
    next_prune_ = Clock::now() + std::chrono::hours(1);
  }
}

void Daemon::reap() {
  std::vector<Completion> finished;
  {
    std::lock_guard lock(completions_mutex_);
    finished.swap(completions_);
  }
  for (auto it = workers_.begin(); it != workers_.end();) {
    if (it->done) {
      it->thread.join();
      it = workers_.erase(it);
    } else {
      ++it;
    }
  }
  metrics_.running(scheduler_->running());
  for (const auto& c : finished) {
    if (c.policy_id == kAuditWorker) {
      pruning_ = false;
      next_prune_ = Clock::now() + (c.status == "succeeded" ? std::chrono::hours(24) : std::chrono::hours(1));
      continue;
    }
    scheduler_->finished(c.policy_id, seconds_now(), c.status == "failed");
    publish_schedule(c.policy_id);
    const auto entry = scheduler_->entries().find(c.policy_id);
    if (entry == scheduler_->entries().end()) continue;
    const Scheduler::Entry& e = entry->second;
    if (e.retry_at) {
      metrics_.retry_scheduled(c.policy_id);
      log_event(warn, LogEvent::policy_retry_scheduled,
                {{"policy", c.policy_id},
                 {"attempt", e.failures},
                 {"at", format_instant(*e.retry_at)},
                 {"error", c.error.value_or("")}});
    } else if (e.gave_up && e.failures == config_.retry.max_attempts + 1) {
      log_event(err, LogEvent::policy_gave_up, {{"policy", c.policy_id}, {"failures", e.failures}},
                "retry.max_attempts reached; it runs again at its next slot");
    }
    metrics_.gave_up(c.policy_id, e.gave_up);
    if (!control_) continue;
    try {
      PolicyStateStore(config_.database.schema)
          .finished(*control_, c.policy_id, c.status, c.error, e.next_due, e.failures, e.retry_at);
      // Only once stored: the next poll reads it back, and a gauge must not jump back in time.
      if (c.status == "succeeded") metrics_.last_success(c.policy_id, seconds_now());
    } catch (const std::exception& e) {
      log_event(warn, LogEvent::policy_state_not_recorded,
                {{"policy", c.policy_id}, {"error", first_line(e.what())}});
    }
  }
}

}  // namespace retentiond::daemon_internal
