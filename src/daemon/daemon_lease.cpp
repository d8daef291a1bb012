#include <algorithm>

#include "daemon_internal.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/daemon/coordination.hpp"

namespace retentiond::daemon_internal {

void Daemon::renew_lease(Clock::time_point now) {
  const bool was = leading_;
  next_lease_ = now + milliseconds(1000);  // a failing query must not spin; set below
  leading_ =
      !config_.ha.enabled || LeaderLease(config_.database.schema, instance_, to_ms(config_.ha.lease_ttl))
                                 .acquire_or_renew(*control_);
  if (leading_ != was) {
    if (leading_) {
      log_event(info, LogEvent::leader_acquired, {{"instance", instance_}});
      // What this daemon planned while following is stale: take the last runs as stored.
      scheduler_->forget_idle();
      policies_changed_ = true;
    } else {
      log_event(info, LogEvent::leader_lost, {{"instance", instance_}}, "another daemon leads");
    }
    notify(leading_ ? "leading" : "following");
    metrics_.leader(leading_);
  }
  // The leader renews at a third of the ttl; followers look every second, so a dead
  // leader is replaced within lease_ttl plus a second.
  const auto ttl = to_ms(config_.ha.lease_ttl);
  next_lease_ =
      now + (leading_ ? std::max(ttl / 3, milliseconds(200)) : std::min(ttl / 3, milliseconds(1000)));
}

}  // namespace retentiond::daemon_internal
