#include <systemd/sd-daemon.h>

#include "daemon_internal.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/schema.hpp"

namespace retentiond::daemon_internal {

void Daemon::connect_control() {
  try {
    control_ = connect(config_.database);
    try {
      require_current_schema(*control_, config_.database.schema);
    } catch (const Error& e) {
      lose_control(e, false);
      return;
    }
    pqxx::nontransaction(*control_).exec("SET application_name = " +
                                         control_->quote("retentiond " + instance_ + " control"));
    // A standby refuses LISTEN as it refuses every write: listen once it is promoted.
    if (in_recovery(*control_)) {
      standby_ = true;
      enter_standby();
    } else {
      listener_ = std::make_unique<PolicyListener>(*control_, config_.database.schema, policies_changed_);
      standby_ = false;
      standby_logged_ = false;  // a later standby spell is logged again
    }
    if (down_logged_) log_event(info, LogEvent::database_reconnected, {}, "the database is reachable again");
    down_logged_ = false;
    metrics_.database_up(true);
    if (!standby_) set_not_ready(stop_ ? std::optional<std::string>("stopping") : std::nullopt);
    backoff_ = milliseconds(1000);
    policies_changed_ = true;
    orphans_pending_ = true;
    if (!ready_sent_) {
      sd_notify(0, "READY=1");
      ready_sent_ = true;
      log_event(info, LogEvent::daemon_ready,
                {{"instance", instance_}, {"schema", config_.database.schema}, {"ha", config_.ha.enabled}});
    }
  } catch (const std::exception& e) {
    lose_control(e);
  }
}

void Daemon::enter_standby() {
  // Nothing to do on a standby: no lease, no runs, not ready. Looked at again every 2 s, so a
  // promotion is noticed within seconds and work starts by itself.
  next_recovery_check_ = Clock::now() + milliseconds(2000);
  if (!stop_) set_not_ready("the database is a hot standby (in recovery): waiting for promotion");
  if (!standby_logged_) {
    log_event(warn, LogEvent::database_standby, {{"instance", instance_}},
              "connected to a hot standby: doing nothing until it is promoted");
    notify("database is a standby; waiting for promotion");
    standby_logged_ = true;
  }
}

bool Daemon::still_standby(Clock::time_point now) {
  if (now < next_recovery_check_) return true;
  next_recovery_check_ = now + milliseconds(2000);
  if (in_recovery(*control_)) return true;
  log_event(info, LogEvent::database_promoted, {{"instance", instance_}},
            "the database left recovery; starting work");
  listener_ = std::make_unique<PolicyListener>(*control_, config_.database.schema, policies_changed_);
  standby_ = false;  // only once the listener exists: without it, changes would wait for a poll
  standby_logged_ = false;
  policies_changed_ = true;
  set_not_ready(stop_ ? std::optional<std::string>("stopping") : std::nullopt);
  notify("running");
  return false;
}

void Daemon::lose_control(const std::exception& e, bool outage) {
  listener_.reset();
  control_.reset();
  metrics_.database_up(false);
  metrics_.leader(false);
  // A schema that is missing or outdated is not an outage: the reason says which it is.
  if (!stop_) set_not_ready((outage ? "database unreachable: " : "") + first_line(e.what()));
  if (leading_) log_event(warn, LogEvent::leader_lost, {{"instance", instance_}}, "no database connection");
  leading_ = false;
  if (!down_logged_) {
    // Once per outage, not once per retry: a night of outage is one line, and its end another.
    log_event(err, LogEvent::database_unreachable, {{"error", first_line(e.what())}},
              "retrying every few seconds");
    notify("database unreachable, retrying");
    down_logged_ = true;
  }
  next_connect_ = Clock::now() + backoff_;
  // Capped low: an outage costs one connection attempt per 3 s, and the schedule (and
  // /readyz) come back within 3 s of the database's return.
  backoff_ = std::min(backoff_ * 2, milliseconds(3'000));
}

}  // namespace retentiond::daemon_internal
