#include <systemd/sd-daemon.h>

#include "daemon_internal.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond::daemon_internal {

void Daemon::begin_shutdown(const char* signal_name) {
  if (stop_) return;
  stop_ = true;
  for (auto& worker : workers_) {
    auto none = StopCause::none;
    worker.stop.cause.compare_exchange_strong(none, StopCause::shutdown);
  }
  stop_deadline_ = Clock::now() + to_ms(config_.scheduler.shutdown_timeout);
  // A load balancer stops sending work here; the listener stays up until the process ends.
  set_not_ready("stopping");
  log_event(info, LogEvent::daemon_stopping,
            {{"signal", signal_name},
             {"running", workers_.size()},
             {"shutdown_timeout_ms", to_ms(config_.scheduler.shutdown_timeout).count()}},
            "no new work; running actions may finish");
  sd_notify(0, "STOPPING=1");
}

void Daemon::cancel_workers() {
  // Sent again on every pass (every 200 ms) until the worker is done: the server ignores a
  // cancel that arrives between two statements, and a worker may be between two statements.
  for (auto& worker : workers_) {
    const int pid = worker.backend_pid;
    if (pid == 0 || worker.done || !control_ || standby_) continue;
    if (!worker.cancel_logged) {
      log_event(warn, LogEvent::job_cancelling, {{"policy", worker.policy_id}}, "shutdown_timeout passed");
      worker.cancel_logged = true;
    }
    worker.stop.cancelled = true;
    try {
      pqxx::nontransaction tx(*control_);
      tx.exec_params("SELECT pg_cancel_backend($1)", pid);
      // A snapshot's COPY streams on a session of its own.
      if (const int side = worker.stop.side_backend_pid; side != 0) {
        tx.exec_params("SELECT pg_cancel_backend($1)", side);
      }
    } catch (const std::exception& e) {
      log_event(err, LogEvent::job_cancel_failed,
                {{"policy", worker.policy_id}, {"error", first_line(e.what())}});
    }
  }
}

void Daemon::abandon_own_rows(const char* why) {
  if (!control_ || standby_) return;
  try {
    pqxx::work tx(*control_);
    const auto result =
        tx.exec_params("UPDATE " + quote_identifier(config_.database.schema) +
                           ".jobs_log SET status = 'abandoned', finished_at = now(), error = $2"
                           " WHERE status = 'running' AND instance = $1",
                       instance_, std::string(why));
    tx.commit();
    if (result.affected_rows() > 0) {
      log_event(warn, LogEvent::jobs_abandoned, {{"count", result.affected_rows()}, {"instance", instance_}},
                why);
    }
  } catch (const std::exception& e) {
    log_event(err, LogEvent::jobs_abandon_failed, {{"error", first_line(e.what())}});
  }
}

}  // namespace retentiond::daemon_internal
