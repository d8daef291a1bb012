#include "retentiond/daemon/daemon.hpp"

#include <poll.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <system_error>

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include "daemon_internal.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/daemon/coordination.hpp"
#include "retentiond/db/connection.hpp"

namespace retentiond::daemon_internal {

Scheduler::RetryPolicy retry_policy(const Config& config) {
  using std::chrono::duration_cast;
  using std::chrono::seconds;
  return {.initial = std::max(seconds(1), duration_cast<seconds>(config.retry.initial.seconds())),
          .max = std::max(seconds(1), duration_cast<seconds>(config.retry.max.seconds())),
          .max_attempts = config.retry.max_attempts};
}

Scheduler Daemon::make_scheduler() const {
  Scheduler scheduler(Schedule::parse(config_.scheduler.default_schedule),
                      std::chrono::duration_cast<std::chrono::seconds>(config_.scheduler.jitter.seconds()),
                      std::hash<std::string>{}(instance_));
  scheduler.set_retry_policy(retry_policy(config_));
  return scheduler;
}

void Daemon::publish_schedule(const std::string& policy_id) {
  const auto it = scheduler_->entries().find(policy_id);
  if (it == scheduler_->entries().end() || it->second.retired) return;
  const Schedule& schedule = it->second.schedule;
  // Between two clean slots: next_due carries this instance's jitter.
  const auto first = schedule.next_after(it->second.next_due);
  const auto second = schedule.next_after(first);
  metrics_.schedule(policy_id, it->second.next_due, second - first);
}

void Daemon::tick() {
  const auto now = Clock::now();
  if (!control_) {
    if (now >= next_connect_) connect_control();
    if (!control_) return;
  }
  try {
    if (standby_) {
      reap();  // runs begun while this was a primary still finish and are accounted for
      if (still_standby(now)) return;
    }
    control_->get_notifs();
    // Renewed while stopping too: the lease must outlive the runs still finishing.
    if (now >= next_lease_) renew_lease(now);
    if (policies_changed_ || now >= next_poll_) refresh_policies(now);
    if (orphans_pending_ && workers_.empty()) {
      // Rows this process left `running` when an outage cut its runs off.
      abandon_own_rows("the database connection was lost");
      orphans_pending_ = false;
    }
    reap();
    for (const auto& overlap : scheduler_->overlapping(seconds_now())) {
      metrics_.runs_skipped(overlap.policy_id, overlap.slots);
      if (overlap.first) {
        log_event(info, LogEvent::policy_run_skipped,
                  {{"policy", overlap.policy_id}, {"slots", overlap.slots}},
                  "due while its previous run is still going; not queued");
      }
    }
    if (leading_ && !stop_) {
      const auto limit = static_cast<std::size_t>(std::max(1, config_.scheduler.max_concurrent_jobs));
      const auto busy = scheduler_->running();
      if (busy < limit) {
        for (const auto& policy : scheduler_->start_due(seconds_now(), limit - busy)) start(policy);
      }
      if (!pruning_ && now >= next_prune_) start_pruning();
    }
    // A NOTIFY that arrived during the queries above is buffered in libpq, not on the socket:
    // collect it now, or poll() would sleep past it.
    control_->get_notifs();
  } catch (const pqxx::broken_connection& e) {
    lose_control(e);
  } catch (const std::exception& e) {
    // A query of the loop itself failed (a lock, a hand-edited row): log it and carry on.
    log_event(err, LogEvent::daemon_error, {{"error", first_line(e.what())}});
    if (!control_ || !control_->is_open()) lose_control(e);
  }
}

milliseconds Daemon::wait_time() const {
  const auto now = Clock::now();
  auto until = now + milliseconds(60'000);
  const auto earlier = [&](Clock::time_point t) { until = std::min(until, t); };
  if (!control_) {
    earlier(next_connect_);
  } else if (standby_) {
    earlier(next_recovery_check_);  // nothing else happens on a standby
  } else {
    if (policies_changed_) return milliseconds(0);
    earlier(next_poll_);
    earlier(next_lease_);
    const auto limit = static_cast<std::size_t>(std::max(1, config_.scheduler.max_concurrent_jobs));
    // With every slot taken, a finished worker (eventfd) is what can make room, not the clock.
    if (leading_ && !stop_ && scheduler_ && scheduler_->running() < limit) {
      if (const auto due = scheduler_->next_due()) earlier(Clock::time_point(*due));
    }
  }
  if (stop_) earlier(now >= stop_deadline_ ? now + milliseconds(200) : stop_deadline_);
  if (watchdog_interval_.count() > 0) earlier(next_watchdog_);
  return std::max(milliseconds(0), std::chrono::ceil<milliseconds>(until - now));
}

ExitCode Daemon::run() {
  // Signals arrive as readable data on a descriptor the loop polls, never as handlers running
  // in the middle of a libpq call. Blocked before any thread exists, so every thread inherits it.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  const int signal_fd = signalfd(-1, &signals, SFD_CLOEXEC | SFD_NONBLOCK);
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (signal_fd < 0 || wake_fd_ < 0)
    throw std::system_error(errno, std::generic_category(), "signalfd/eventfd");

  scheduler_ = make_scheduler();
  prepare_libpq_environment(config_.database);  // before the listener's threads exist
  start_http();
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) > 0) watchdog_interval_ = milliseconds(usec / 2000);
  log_event(info, LogEvent::daemon_starting,
            {{"instance", instance_},
             {"max_concurrent_jobs", config_.scheduler.max_concurrent_jobs},
             {"default_schedule", config_.scheduler.default_schedule}});

  for (;;) {
    heartbeat_ = std::chrono::steady_clock::now().time_since_epoch().count();
    tick();
    if (stop_) {
      reap();
      if (workers_.empty()) break;
      if (Clock::now() >= stop_deadline_) cancel_workers();
      if (Clock::now() >= stop_deadline_ + milliseconds(10'000)) {
        // A worker that even a cancel cannot stop (a dead network, a statement deaf to cancels):
        // do not wait for systemd's SIGKILL; record what is known and leave.
        log_event(err, LogEvent::daemon_stop_forced, {{"running", workers_.size()}},
                  "workers did not stop 10 s after the cancel");
        abandon_own_rows("the daemon stopped before the action finished");
        if (control_ && leading_ && config_.ha.enabled) {
          try {
            LeaderLease(config_.database.schema, instance_, to_ms(config_.ha.lease_ttl)).release(*control_);
          } catch (const std::exception&) {
          }
        }
        spdlog::default_logger()->flush();
        std::_Exit(0);
      }
    }
    if (watchdog_interval_.count() > 0 && Clock::now() >= next_watchdog_) {
      sd_notify(0, "WATCHDOG=1");
      next_watchdog_ = Clock::now() + watchdog_interval_;
    }
    pollfd fds[3] = {{signal_fd, POLLIN, 0}, {wake_fd_, POLLIN, 0}, {-1, POLLIN, 0}};
    if (control_ && control_->sock() >= 0) fds[2].fd = control_->sock();
    const int ready = ::poll(fds, 3, static_cast<int>(wait_time().count()));
    if (ready <= 0) continue;
    if (fds[1].revents & POLLIN) {
      std::uint64_t count = 0;
      (void)!::read(wake_fd_, &count, sizeof count);
    }
    if (fds[0].revents & POLLIN) {
      signalfd_siginfo info{};
      while (::read(signal_fd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGHUP) {
          reload();
        } else {
          begin_shutdown(info.ssi_signo == SIGTERM ? "SIGTERM" : "SIGINT");
        }
      }
    }
  }
  reap();
  // Every worker is done: a row of this process still `running` was cut off (an outage).
  abandon_own_rows("the daemon stopped before the action finished");
  if (control_ && leading_ && config_.ha.enabled) {
    try {
      LeaderLease(config_.database.schema, instance_, to_ms(config_.ha.lease_ttl)).release(*control_);
      log_event(info, LogEvent::leader_released, {{"instance", instance_}});
    } catch (const std::exception& e) {
      log_event(warn, LogEvent::leader_release_failed, {{"error", first_line(e.what())}});
    }
  }
  ::close(signal_fd);
  ::close(wake_fd_);
  log_event(info, LogEvent::daemon_stopped, {{"instance", instance_}});
  return ExitCode::ok;
}

}  // namespace retentiond::daemon_internal

namespace retentiond {

ExitCode run_daemon(const ConfigSources& sources, const Config& config, bool quiet) {
  // The default schedule is used for every policy without one: a bad one is a usage error now,
  // not a daemon that never runs anything.
  (void)Schedule::parse(config.scheduler.default_schedule);
  daemon_internal::Daemon daemon(sources, config, quiet);
  return daemon.run();
}

}  // namespace retentiond
