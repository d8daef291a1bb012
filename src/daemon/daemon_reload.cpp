#include <spdlog/spdlog.h>

#include "daemon_internal.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/connection.hpp"

namespace retentiond::daemon_internal {

void Daemon::reload() {
  try {
    const Config fresh = load_config(sources_);
    std::vector<std::string> changed;
    if (fresh.log.level != config_.log.level) {
      if (!quiet_) spdlog::set_level(spdlog::level::from_str(fresh.log.level));
      changed.push_back("log.level=" + fresh.log.level);
    }
    const bool schedule_changed = fresh.scheduler.default_schedule != config_.scheduler.default_schedule ||
                                  fresh.scheduler.jitter.seconds() != config_.scheduler.jitter.seconds();
    if (fresh.scheduler.default_schedule != config_.scheduler.default_schedule) {
      changed.push_back("scheduler.default_schedule=" + fresh.scheduler.default_schedule);
    }
    if (fresh.scheduler.jitter.seconds() != config_.scheduler.jitter.seconds())
      changed.push_back("scheduler.jitter");
    if (fresh.scheduler.max_concurrent_jobs != config_.scheduler.max_concurrent_jobs) {
      changed.push_back("scheduler.max_concurrent_jobs=" +
                        std::to_string(fresh.scheduler.max_concurrent_jobs));
    }
    if (fresh.scheduler.poll_interval.seconds() != config_.scheduler.poll_interval.seconds()) {
      changed.push_back("scheduler.poll_interval");
    }
    if (fresh.scheduler.shutdown_timeout.seconds() != config_.scheduler.shutdown_timeout.seconds()) {
      changed.push_back("scheduler.shutdown_timeout");
    }
    if (fresh.database.url != config_.database.url || fresh.database.schema != config_.database.schema ||
        fresh.database.password_file != config_.database.password_file ||
        fresh.ha.enabled != config_.ha.enabled || fresh.http.enabled != config_.http.enabled ||
        fresh.http.listen != config_.http.listen || fresh.http.status_token != config_.http.status_token) {
      log_event(warn, LogEvent::config_restart_needed, {},
                "database.*, ha.enabled and http.* change only on restart");
    }
    // What the running daemon cannot change keeps its old value; the rest applies now.
    Config applied = fresh;
    applied.database = config_.database;
    applied.ha.enabled = config_.ha.enabled;
    applied.http = config_.http;
    config_ = applied;
    {
      std::lock_guard lock(config_mutex_);
      shared_config_ = std::make_shared<const Config>(applied);
    }
    scheduler_->set_retry_policy(retry_policy(config_));
    if (schedule_changed) {
      scheduler_->reconfigure(
          Schedule::parse(config_.scheduler.default_schedule),
          std::chrono::duration_cast<std::chrono::seconds>(config_.scheduler.jitter.seconds()));
      policies_changed_ = true;
    }
    log_event(info, LogEvent::config_reloaded, {{"changed", fmt::format("[{}]", fmt::join(changed, ","))}});
  } catch (const std::exception& e) {
    log_event(err, LogEvent::config_reload_failed, {{"error", first_line(e.what())}},
              "keeping the running configuration");
  }
}

}  // namespace retentiond::daemon_internal
