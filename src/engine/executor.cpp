#include "retentiond/engine/executor.hpp"

#include <algorithm>
#include <chrono>

#include <pqxx/pqxx>
#include <spdlog/spdlog.h>

#include "retentiond/core/logging.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/libpq_session.hpp"
#include "retentiond/engine/snapshot.hpp"

namespace retentiond {
namespace {

double seconds_since(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

JobOutcome failed(std::int64_t id, const std::string& error) {
  return {.id = id, .status = "failed", .rows = std::nullopt, .bytes = std::nullopt, .error = error};
}

// The SQLSTATE of a server error, from libpqxx or from a snapshot's own libpq session.
std::string sqlstate_of(const std::exception& error) {
  if (const auto* sql = dynamic_cast<const pqxx::sql_error*>(&error)) return sql->sqlstate();
  if (const auto* libpq = dynamic_cast<const LibpqError*>(&error)) return libpq->sqlstate();
  return "";
}

void set_lock_timeout(pqxx::transaction_base& tx, const Dialect& dialect, const Action& action) {
  if (action.lock_timeout.count() > 0) tx.exec0(dialect.set_lock_timeout(action.lock_timeout));
}

}  // namespace

std::optional<std::chrono::milliseconds> Executor::time_left() const {
  if (stop_ == nullptr || stop_->deadline == std::chrono::steady_clock::time_point::max()) return std::nullopt;
  const auto left =
      std::chrono::ceil<std::chrono::milliseconds>(stop_->deadline - std::chrono::steady_clock::now());
  // 0 would mean no limit at all.
  return std::max(left, std::chrono::milliseconds(1));
}

void Executor::limit(pqxx::transaction_base& tx, const Action& action) const {
  set_lock_timeout(tx, dialect_, action);
  if (const auto left = time_left()) tx.exec0("SET LOCAL statement_timeout = " + std::to_string(left->count()));
}

Executor::Executor(pqxx::connection& connection, const Config& config, const Dialect& dialect, JobsLog& jobs,
                   const StopRequest* stop)
    : connection_(connection), config_(config), dialect_(dialect), jobs_(jobs), stop_(stop) {}

JobOutcome Executor::failure(std::int64_t job_id, const Action& action, const std::exception& error) const {
  const std::string sqlstate = sqlstate_of(error);
  // 57014: query_canceled, which is how the daemon stops a statement past shutdown_timeout.
  if (timed_out() && sqlstate == "57014") {
    return failed(job_id, "cancelled: " + time_is_up() + "; retried later");
  }
  if (stopping() && sqlstate == "57014") {
    return {.id = job_id,
            .status = "abandoned",
            .rows = std::nullopt,
            .bytes = std::nullopt,
            .error = "cancelled at shutdown (scheduler.shutdown_timeout)"};
  }
  // 55P03: lock_not_available. The statement gave up waiting (lock_timeout) rather than hold a
  // queue of readers behind its lock request; say on what, so the audit names the blocker's
  // target, not just "canceling statement due to lock timeout".
  if (sqlstate == "55P03") {
    return failed(job_id, "lock not available on " + target_of(action) + " within lock_timeout " +
                              std::to_string(action.lock_timeout.count()) + " ms; retried later");
  }
  return failed(job_id, first_line(error.what()));
}

void Executor::record(std::vector<ActionResult>& results, ActionResult result) {
  const Action& action = *result.action;
  const JobOutcome& outcome = result.outcome;
  const std::string table = action.table.display();
  const std::string partition = action.partition ? action.partition->display() : std::string();
  std::vector<LogField> fields{{"policy", action.policy_id}, {"action", action.action}, {"table", table}};
  if (action.partition) fields.emplace_back("partition", partition);
  fields.emplace_back("job_id", outcome.id);
  fields.emplace_back("status", outcome.status);
  if (outcome.status != "skipped") fields.emplace_back("duration_ms", result.seconds * 1000);
  if (outcome.rows) fields.emplace_back("rows", *outcome.rows);
  if (outcome.bytes) fields.emplace_back("bytes", *outcome.bytes);
  if (outcome.error) fields.emplace_back("error", *outcome.error);
  if (outcome.status == "succeeded") {
    log_event(spdlog::level::info, LogEvent::job_succeeded, fields);
  } else if (outcome.status == "failed") {
    log_event(spdlog::level::err, LogEvent::job_failed, fields);
  } else if (outcome.status == "abandoned") {
    log_event(spdlog::level::warn, LogEvent::job_abandoned, fields);
  } else {
    log_event(spdlog::level::debug, LogEvent::job_skipped, fields);
  }
  if (observer_ != nullptr) observer_->action_finished(result);
  results.push_back(std::move(result));
}

std::vector<ActionResult> Executor::execute(const PolicyPlan& plan, RunObserver* observer) {
  observer_ = observer;
  std::vector<ActionResult> results;
  const auto& actions = plan.actions;
  std::size_t next = 0;
  bool stopped = false;
  while (next < actions.size() && !stopped && !stopping()) {
    const std::size_t before = results.size();
    if (actions[next].kind == ActionKind::drop_partition) {
      next += drop_group(actions, next, results);
    } else {
      const Action& action = actions[next++];
      const auto id = jobs_.start({&action}).front();
      const auto began = std::chrono::steady_clock::now();
      recorded_ = false;
      JobOutcome outcome = run_single(action, id);
      outcome.id = id;
      if (!recorded_) jobs_.finish({outcome});
      record(results, {&action, outcome, seconds_since(began)});
    }
    stopped = std::any_of(results.begin() + static_cast<std::ptrdiff_t>(before), results.end(),
                          [](const ActionResult& r) { return r.outcome.status != "succeeded"; });
  }
  if (next < actions.size()) {
    // Not attempted: recorded so the audit shows the whole plan and why it stopped.
    std::vector<const Action*> rest;
    for (std::size_t i = next; i < actions.size(); ++i) rest.push_back(&actions[i]);
    const auto ids = jobs_.start(rest);
    std::vector<JobOutcome> outcomes;
    for (std::size_t i = 0; i < rest.size(); ++i) {
      outcomes.push_back({.id = ids[i],
                          .status = "skipped",
                          .rows = std::nullopt,
                          .bytes = std::nullopt,
                          .error = timed_out()  ? "not attempted: " + time_is_up()
                                   : stopping() ? "not attempted: the daemon is shutting down"
                                                : "not attempted: an earlier action of this policy failed"});
    }
    jobs_.finish(outcomes);
    for (std::size_t i = 0; i < rest.size(); ++i) record(results, {rest[i], outcomes[i], 0});
  }
  return results;
}

std::size_t Executor::drop_group(const std::vector<Action>& actions, std::size_t begin,
                                 std::vector<ActionResult>& results) {
  std::vector<const Action*> group;
  std::vector<QualifiedName> partitions;
  for (std::size_t i = begin; i < actions.size(); ++i) {
    const Action& action = actions[i];
    if (action.kind != ActionKind::drop_partition || action.transaction != actions[begin].transaction) break;
    group.push_back(&action);
    partitions.push_back(*action.partition);
  }
  const auto ids = jobs_.start(group);
  const auto began = std::chrono::steady_clock::now();
  // The drops of one transaction share its time: each partition's share is what it cost.
  const auto share = [&] { return seconds_since(began) / static_cast<double>(group.size()); };
  std::vector<JobOutcome> outcomes;
  try {
    pqxx::work tx(connection_);
    limit(tx, *group.front());
    // One statement for the whole group, as the planner grouped it. Should it fail, the group
    // is redone one partition at a time below, so the audit names the partition at fault.
    tx.exec0(dialect_.drop_tables(partitions));
    for (std::size_t i = 0; i < group.size(); ++i) {
      outcomes.push_back({.id = ids[i],
                          .status = "succeeded",
                          .rows = std::nullopt,
                          .bytes = group[i]->size_bytes,
                          .error = std::nullopt});
    }
    // The outcome commits with the drops: "succeeded" is true exactly when they are gone.
    jobs_.finish(tx, outcomes);
    tx.commit();
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception& e) {
    if (stopping()) {
      // Cancelled at shutdown (or failed meanwhile): nothing of the group happened, and no
      // new work starts now.
      outcomes.clear();
      for (std::size_t i = 0; i < group.size(); ++i) outcomes.push_back(failure(ids[i], *group[i], e));
      jobs_.finish(outcomes);
      const double each = share();
      for (std::size_t i = 0; i < group.size(); ++i) record(results, {group[i], outcomes[i], each});
      return group.size();
    }
    // One statement failed and took the transaction with it. Redo the group one partition per
    // transaction so the audit says exactly which partition failed and the ones before it
    // are still dropped; stop there.
    log_event(spdlog::level::warn, LogEvent::job_retrying,
              {{"policy", group.front()->policy_id},
               {"table", group.front()->table.display()},
               {"partitions", group.size()},
               {"error", first_line(e.what())}},
              "dropping one partition per transaction");
    outcomes.clear();
    std::vector<double> seconds;
    std::size_t i = 0;
    for (; i < group.size(); ++i) {
      const auto one = std::chrono::steady_clock::now();
      JobOutcome outcome = in_transaction(*group[i], ids[i]);
      outcome.id = ids[i];
      outcomes.push_back(outcome);
      seconds.push_back(seconds_since(one));
      if (outcome.status != "succeeded") break;
    }
    // Each success is recorded with its drop; only a failure (rolled back) is written here.
    if (!outcomes.empty() && outcomes.back().status != "succeeded") jobs_.finish({outcomes.back()});
    for (std::size_t k = 0; k < outcomes.size(); ++k) record(results, {group[k], outcomes[k], seconds[k]});
    // Members after the failed one were not attempted.
    if (i < group.size()) {
      std::vector<JobOutcome> rest;
      for (std::size_t k = i + 1; k < group.size(); ++k) {
        rest.push_back({.id = ids[k],
                        .status = "skipped",
                        .rows = std::nullopt,
                        .bytes = std::nullopt,
                        .error = "not attempted: an earlier action of this policy failed"});
      }
      jobs_.finish(rest);
      for (std::size_t k = i + 1; k < group.size(); ++k) record(results, {group[k], rest[k - i - 1], 0});
    }
    return group.size();
  }
  const double each = share();
  for (std::size_t k = 0; k < group.size(); ++k) record(results, {group[k], outcomes[k], each});
  return group.size();
}

JobOutcome Executor::run_single(const Action& action, std::int64_t job_id) {
  try {
    switch (action.kind) {
      case ActionKind::delete_rows:
        return delete_rows(action, job_id);
      case ActionKind::detach_partition:
        return detach(action);
      case ActionKind::snapshot_partition: {
        const auto& repository = config_.snapshot.repositories.at(action.target);
        const SnapshotOutcome done = snapshot_partition(config_.database, action, repository, stop_);
        return {.id = job_id,
                .status = "succeeded",
                .rows = done.rows,
                .bytes = done.bytes,
                .error = std::nullopt};
      }
      case ActionKind::drop_partition:
      case ActionKind::set_tablespace:
        return in_transaction(action, job_id);
    }
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception& e) {
    return failure(job_id, action, e);
  }
  return failed(job_id, "unknown action");
}

JobOutcome Executor::in_transaction(const Action& action, std::optional<std::int64_t> job_id) {
  try {
    pqxx::work tx(connection_);
    limit(tx, action);
    for (const auto& statement : action.sql) tx.exec0(statement);
    JobOutcome done{.id = job_id.value_or(0),
                    .status = "succeeded",
                    .rows = std::nullopt,
                    .bytes = action.size_bytes,
                    .error = std::nullopt};
    // With its row's id, the outcome commits with the work: "succeeded" is true exactly when
    // the work is done, and a crash in between cannot leave done work `running`.
    if (job_id) jobs_.finish(tx, {done});
    tx.commit();
    recorded_ = job_id.has_value();
    return done;
  } catch (const pqxx::broken_connection&) {
    throw;
  } catch (const std::exception& e) {
    return failure(0, action, e);
  }
}

JobOutcome Executor::detach(const Action& action) {
  if (!action.outside_transaction) return in_transaction(action);
  {
    // DETACH ... CONCURRENTLY refuses to run inside a transaction block; it commits by itself,
    // so its limits are the session's for the one statement. Its wait for older snapshots is
    // bounded by the run's time left (max_runtime), and the daemon cancels it at shutdown; a
    // detach stopped there stays pending and the next run finishes it (DETACH ... FINALIZE).
    // Closed before the drop below: libpqxx allows one transaction object per connection.
    pqxx::nontransaction session(connection_);
    const auto reset = [&] { session.exec("RESET lock_timeout; RESET statement_timeout"); };
    if (action.lock_timeout.count() > 0) {
      session.exec("SET lock_timeout = " + std::to_string(action.lock_timeout.count()));
    }
    if (const auto left = time_left()) {
      session.exec("SET statement_timeout = " + std::to_string(left->count()));
    }
    try {
      session.exec(action.sql.front());
      reset();
    } catch (...) {
      reset();
      throw;
    }
  }
  if (action.sql.size() > 1) {
    pqxx::work tx(connection_);
    limit(tx, action);
    for (std::size_t i = 1; i < action.sql.size(); ++i) tx.exec0(action.sql[i]);
    tx.commit();
  }
  return {.id = 0,
          .status = "succeeded",
          .rows = std::nullopt,
          .bytes = action.size_bytes,
          .error = std::nullopt};
}

JobOutcome Executor::delete_rows(const Action& action, std::int64_t job_id) {
  std::int64_t total = 0;
  for (int batch = 1;; ++batch) {
    std::int64_t deleted = 0;
    try {
      pqxx::work tx(connection_);
      limit(tx, action);
      deleted = static_cast<std::int64_t>(
          tx.exec_params(action.sql.front(), action.params.at(0), std::stoll(action.params.at(1)))
              .affected_rows());
      tx.commit();
    } catch (const pqxx::broken_connection&) {
      throw;
    } catch (const std::exception& e) {
      if (total == 0) throw;
      // The batches before this one are committed: the outcome keeps their count.
      JobOutcome outcome = failure(job_id, action, e);
      outcome.rows = total;
      return outcome;
    }
    total += deleted;
    // Each batch is committed: an interruption loses at most the batch in flight, and the
    // next run carries on from where this one stopped.
    if (deleted > 0) {
      log_event(spdlog::level::info, LogEvent::job_progress,
                {{"policy", action.policy_id},
                 {"table", action.table.display()},
                 {"job_id", job_id},
                 {"batch", batch},
                 {"rows", deleted},
                 {"total", total}});
      jobs_.progress(job_id, total);
    }
    if (deleted < action.batch_size) break;
    if (timed_out()) {
      return {
          .id = job_id,
          .status = "failed",
          .rows = total,
          .bytes = std::nullopt,
          .error = "stopped after " + std::to_string(total) + " rows: " + time_is_up() + "; retried later"};
    }
    if (stopping()) {
      // Between batches is a clean place to stop: every batch so far is committed, and the
      // next run carries on from here.
      return {
          .id = job_id,
          .status = "abandoned",
          .rows = total,
          .bytes = std::nullopt,
          .error = "stopped at shutdown after " + std::to_string(total) + " rows; the next run continues"};
    }
  }
  return {.id = job_id, .status = "succeeded", .rows = total, .bytes = std::nullopt, .error = std::nullopt};
}

}  // namespace retentiond
