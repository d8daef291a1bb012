#pragma once

#include <array>
#include <string_view>

namespace retentiond {

// Every event retentiond logs, in one place: the name is a stable interface (log pipelines and
// alerts match on it), so it is declared here once and docs/monitoring.md lists each one (a
// unit test keeps the two in step). X(identifier, "name", "what it means")
#define RETENTIOND_LOG_EVENTS(X)                                                                             \
  X(daemon_starting, "daemon.starting", "the daemon process started; fields instance, max_concurrent_jobs")  \
  X(daemon_ready, "daemon.ready",                                                                            \
    "connected, schema current, ready to schedule (sent to systemd as READY=1)")                             \
  X(daemon_stopping, "daemon.stopping", "SIGTERM/SIGINT received: no new work; running actions may finish")  \
  X(daemon_stop_forced, "daemon.stop_forced", "workers did not stop 10 s after the cancel; exiting anyway")  \
  X(daemon_stopped, "daemon.stopped", "clean exit")                                                          \
  X(daemon_error, "daemon.error", "a query of the scheduling loop itself failed; the loop carries on")       \
  X(database_unreachable, "database.unreachable",                                                            \
    "the database connection was lost (logged once per outage)")                                             \
  X(database_reconnected, "database.reconnected", "the database is reachable again after an outage")         \
  X(database_standby, "database.standby", "connected to a hot standby: nothing is done until promotion")     \
  X(database_promoted, "database.promoted", "the standby was promoted: work starts")                         \
  X(leader_acquired, "leader.acquired", "this instance now holds the scheduler lease and runs policies")     \
  X(leader_lost, "leader.lost", "this instance no longer leads (another one does, or the database is gone)") \
  X(leader_released, "leader.released", "the lease was handed back at a clean stop")                         \
  X(leader_release_failed, "leader.release_failed", "the lease could not be released; it expires by itself") \
  X(policies_reloaded, "policies.reloaded", "policies were read again; reason change (NOTIFY) or poll")      \
  X(policy_invalid, "policy.invalid", "a stored policy row does not parse or validate; that policy never runs")  \
  X(policy_invalid_schedule, "policy.invalid_schedule",                                                      \
    "a stored schedule does not parse; the policy never runs")                                               \
  X(policy_starting, "policy.starting", "a scheduled run begins; late_ms says how long after its slot")      \
  X(policy_run_skipped, "policy.run_skipped", "a slot came while the previous run was going; not queued")    \
  X(policy_retry_scheduled, "policy.retry_scheduled", "a run failed; retried at `at` (attempt N)")           \
  X(policy_gave_up, "policy.gave_up", "retry.max_attempts failed runs in a row; back at its slots")          \
  X(policy_not_started, "policy.not_started", "the worker thread could not be created")                      \
  X(policy_finished, "policy.finished", "a run ended; status and action counts")                             \
  X(policy_failed, "policy.failed", "a policy could not be planned or its run broke off")                    \
  X(policy_state_not_recorded, "policy_state.not_recorded", "the outcome of a run could not be stored")      \
  X(config_reloaded, "config.reloaded", "SIGHUP applied; changed lists the keys")                            \
  X(config_reload_failed, "config.reload_failed", "SIGHUP found a bad configuration; the old one stays")     \
  X(config_restart_needed, "config.restart_needed", "a changed key applies only after a restart")            \
  X(job_succeeded, "job.succeeded", "an action (one jobs_log row) finished")                                 \
  X(job_failed, "job.failed", "an action failed; error says why, the rest of the policy's plan is skipped")  \
  X(job_skipped, "job.skipped", "an action was not attempted: an earlier one failed, or shutdown (debug)")   \
  X(job_abandoned, "job.abandoned", "an action was stopped by shutdown; the next run continues")             \
  X(job_progress, "job.progress", "a batched delete committed a batch")                                      \
  X(job_retrying, "job.retrying", "a multi-partition drop failed; redone one partition per transaction")     \
  X(job_cancelling, "job.cancelling", "shutdown_timeout passed: the running statement is being cancelled")   \
  X(job_cancel_failed, "job.cancel_failed", "the cancel request could not be sent")                          \
  X(run_fewer_sessions, "run.fewer_sessions",                                                                \
    "run --once could not open all its sessions; goes on in fewer")                                          \
  X(jobs_abandoned, "jobs.abandoned",                                                                        \
    "jobs_log rows left running by an ended process were marked abandoned")                                  \
  X(jobs_abandon_failed, "jobs.abandon_failed", "those rows could not be marked")                            \
  X(audit_pruned, "audit.pruned", "jobs_log and policy_events rows older than audit.keep were deleted")      \
  X(audit_prune_failed, "audit.prune_failed", "pruning the audit tables failed; tried again in an hour")     \
  X(snapshot_stale_removed, "snapshot.stale_removed",                                                        \
    "temporary files of an interrupted snapshot were removed")                                               \
  X(snapshot_stored_beside, "snapshot.stored_beside",                                                        \
    "the partition's archive name holds another incarnation's archive; the new one is stored beside it")    \
  X(http_listening, "http.listening", "the HTTP listener is up; address is where (port 0 resolved)")         \
  X(log, "log", "a message without an event of its own (from a library)")

enum class LogEvent {
#define RETENTIOND_LOG_EVENT_ENUM(id, name, meaning) id,
  RETENTIOND_LOG_EVENTS(RETENTIOND_LOG_EVENT_ENUM)
#undef RETENTIOND_LOG_EVENT_ENUM
};

struct LogEventInfo {
  std::string_view name;
  std::string_view meaning;
};

inline constexpr std::array kLogEvents = {
#define RETENTIOND_LOG_EVENT_INFO(id, name, meaning) LogEventInfo{name, meaning},
    RETENTIOND_LOG_EVENTS(RETENTIOND_LOG_EVENT_INFO)
#undef RETENTIOND_LOG_EVENT_INFO
};

[[nodiscard]] constexpr std::string_view event_name(LogEvent event) {
  return kLogEvents[static_cast<std::size_t>(event)].name;
}

}  // namespace retentiond
