#include <map>
#include <set>

#include "daemon_internal.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/daemon/coordination.hpp"
#include "retentiond/db/policy_store.hpp"

namespace retentiond::daemon_internal {

void Daemon::refresh_policies(Clock::time_point now) {
  const bool notified = policies_changed_.exchange(false);
  next_poll_ = now + to_ms(config_.scheduler.poll_interval);  // a failing query must not spin
  const auto policies = PolicyStore(*control_, config_.database.schema).list();
  const auto stored = PolicyStateStore(config_.database.schema).read(*control_);
  std::map<std::string, Scheduler::TimePoint> last;
  std::map<std::string, Scheduler::Resume> resume;
  for (const auto& [id, state] : stored) {
    if (state.last_started) last.emplace(id, *state.last_started);
    resume.emplace(id, Scheduler::Resume{state.failures, state.next_retry});
  }
  // A row that does not parse never runs (it has no meaningful ttl or strategy); the others do.
  std::vector<Policy> runnable;
  std::set<std::string> now_invalid;
  for (const auto& policy : policies) {
    if (!policy.invalid_reason) {
      runnable.push_back(policy);
      continue;
    }
    now_invalid.insert(policy.id);
    if (!reported_invalid_.contains(policy.id)) {
      log_event(err, LogEvent::policy_invalid, {{"policy", policy.id}, {"reason", *policy.invalid_reason}},
                "the stored policy is invalid; it will not run until it is fixed");
    }
  }
  reported_invalid_ = std::move(now_invalid);
  const auto invalid = scheduler_->update(runnable, last, seconds_now(), resume);
  for (const auto& id : invalid) {
    log_event(err, LogEvent::policy_invalid_schedule, {{"policy", id}},
              "its schedule does not parse; it will not run");
  }
  metrics_.policies(policies, scheduler_->running());
  for (const auto& id : invalid) metrics_.unscheduled(id);
  for (const auto& id : reported_invalid_) metrics_.unscheduled(id);
  for (const auto& [id, state] : stored) {
    if (state.last_succeeded) metrics_.last_success(id, *state.last_succeeded);
  }
  for (const auto& [id, entry] : scheduler_->entries()) publish_schedule(id);
  log_event(notified ? info : debug, LogEvent::policies_reloaded,
            {{"reason", notified ? "change" : "poll"}, {"scheduled", scheduler_->entries().size()}});
}

}  // namespace retentiond::daemon_internal
