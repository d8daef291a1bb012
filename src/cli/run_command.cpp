#include <iostream>

#include <pqxx/pqxx>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/cli/run_output.hpp"
#include "retentiond/cli/tag_selector.hpp"
#include "retentiond/daemon/coordination.hpp"
#include "retentiond/daemon/daemon.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/engine/bounds.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/run.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/policy/policy.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

std::chrono::sys_seconds parse_as_of(const std::string& text) {
  auto instant = parse_timestamp_literal(text);
  if (!instant) {
    throw usage_error("invalid --as-of \"" + text +
                      "\": expected an ISO 8601 date or timestamp, e.g. 2024-06-01 or 2024-06-01T12:00:00Z");
  }
  return *instant;
}

// Passes a live run on to the printer and remembers how each policy ended, so that policy_state
// shows a run made with --once as it shows the daemon's (status, the last-success metric; cron
// users have nothing else). Written after the run on the caller's session: during the run
// every session is busy with its own lane.
class StateRecorder final : public RunObserver {
 public:
  explicit StateRecorder(RunObserver& next) : next_(next) {}

  void started(const std::vector<Policy>& policies) override { next_.started(policies); }
  void executing(const PolicyPlan& plan) override { next_.executing(plan); }
  void action_finished(const ActionResult& result) override { next_.action_finished(result); }
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>& results) override {
    Ended ended{plan.policy.id, "succeeded", plan.error};
    for (const auto& result : results) {
      if (result.outcome.status == "failed" || result.outcome.status == "abandoned") {
        ended.status = result.outcome.status;
        if (!ended.error) ended.error = result.outcome.error;
      }
    }
    if (plan.error) ended.status = "failed";
    ended_.push_back(std::move(ended));
    next_.finished(plan, results);
  }

  void store(pqxx::connection& connection, const std::string& schema, std::chrono::sys_seconds started) const {
    PolicyStateStore state(schema);
    const std::string instance = JobsLog::this_instance();
    for (const auto& ended : ended_) {
      try {
        state.record_run(connection, ended.policy_id, started, ended.status, ended.error, instance);
      } catch (const pqxx::broken_connection&) {
        throw;
      } catch (const std::exception& e) {
        // The run itself is done and in jobs_log; a missing state row must not turn it into an error.
        log_event(spdlog::level::warn, LogEvent::policy_state_not_recorded,
                  {{"policy", ended.policy_id}, {"error", first_line(e.what())}});
      }
    }
  }

 private:
  struct Ended {
    std::string policy_id;
    std::string status;
    std::optional<std::string> error;
  };
  RunObserver& next_;
  std::vector<Ended> ended_;
};

}  // namespace

ExitCode run_run_command(Context& context) {
  bool once = false;
  bool dry_run = false;
  std::vector<std::string> policy_ids;
  std::optional<std::string> tags;
  std::optional<std::string> as_of;
  bool allow_future = false;
  po::options_description options("Options");
  options.add_options()("once", po::bool_switch(&once),
                        "plan and execute every selected policy once, then exit")(
      "dry-run", po::bool_switch(&dry_run), "print the plan and the exact SQL; change nothing anywhere")(
      "policy", po::value(&policy_ids)->value_name("ID")->composing(),
      "only this policy (repeatable; runs it even when disabled)")(
      "tags", po::value<std::string>()->value_name("a,b")->notifier([&](const std::string& v) { tags = v; }),
      "only policies carrying all these tags")(
      "as-of",
      po::value<std::string>()->value_name("WHEN")->notifier([&](const std::string& v) { as_of = v; }),
      "plan as if now were this ISO 8601 date or timestamp (UTC unless an offset is given)")(
      "allow-future", po::bool_switch(&allow_future),
      "let a live run use an --as-of after now (it removes data that has not expired yet)");
  if (context.help) {
    std::cout << command_help(
        "run [--once [--dry-run] [--policy ID]... [--tags a,b] [--as-of WHEN [--allow-future]]]",
        "Without --once: the daemon. Runs every enabled policy on its schedule (at most\n"
        "scheduler.max_concurrent_jobs at a time, never two on one table), picks up policy changes\n"
        "at once (NOTIFY), leads or follows other daemons on the same database (ha.*), waits out\n"
        "database outages. SIGTERM/SIGINT: finish or, past scheduler.shutdown_timeout, cancel the\n"
        "running actions, then exit 0. SIGHUP: re-read the configuration file.\n\n"
        "With --once: plans every selected policy against the live catalog and executes it (oldest\n"
        "data first), recording each action in jobs_log; policies of different tables run side by\n"
        "side in up to scheduler.max_concurrent_jobs sessions. Exit code 1 when any action failed.\n"
        "A live run refuses an --as-of after now unless --allow-future is given; --dry-run takes any.",
        options);
    return ExitCode::ok;
  }
  (void)parse_command_line(context.args, options, {});
  if (!once) {
    for (const auto& [given, name] :
         {std::pair{dry_run, "--dry-run"}, std::pair{!policy_ids.empty(), "--policy"},
          std::pair{tags.has_value(), "--tags"}, std::pair{as_of.has_value(), "--as-of"},
          std::pair{allow_future, "--allow-future"}}) {
      if (given)
        throw usage_error(std::string(name) +
                          " needs --once (the daemon runs every enabled policy on its schedule)");
    }
    return run_daemon(context.sources, context.config, context.quiet);
  }
  RunRequest request;
  request.dry_run = dry_run;
  request.policy_ids = policy_ids;
  if (tags) request.tags = parse_tag_selector(*tags);
  for (const auto& id : policy_ids) validate_policy_id(id);
  const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
  request.now = as_of ? parse_as_of(*as_of) : now;
  // Planning as if it were later expires data early: a live run would remove partitions that
  // are still inside their ttl. A dry run only shows what that day would bring.
  if (!dry_run && request.now > now && !allow_future) {
    throw usage_error("--as-of " + quote_input(*as_of) + " lies after now (" + format_instant(now) +
                      "): a live run would remove data that has not expired; add --allow-future, or use --dry-run");
  }
  if (allow_future && !as_of) throw usage_error("--allow-future needs --as-of");

  auto connection = context.open_database();
  // A hot standby refuses every write; a plan there would fail action by action. A dry run
  // only reads, so it may look at a standby's catalog.
  if (!dry_run && in_recovery(*connection)) {
    throw database_error("the database is a hot standby (in recovery): run retention against the primary");
  }
  if (dry_run) {
    // Read-only by construction: every transaction of this session is READ ONLY, so even a
    // bug that tried to write would be refused by the server.
    pqxx::nontransaction(*connection).exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  }
  // Policies of different tables run side by side, as in the daemon.
  request.sessions = context.config.scheduler.max_concurrent_jobs;
  request.open_session = [&context] { return connect(context.config.database); };
  auto dialect = make_dialect(context.config.database.dialect, *connection);
  RunPrinter printer(std::cout, context.output, dry_run, request.now, context.quiet);
  StateRecorder recorder(printer);
  request.lock_tables = !dry_run;  // a dry run writes nothing, so it need not keep the daemon out
  RunSummary summary;
  try {
    summary = run_once(*connection, context.config, *dialect, request, dry_run ? static_cast<RunObserver&>(printer) : recorder);
  } catch (...) {
    printer.abandon();  // what other sessions finished is in jobs_log: show it too
    throw;
  }
  if (!dry_run) recorder.store(*connection, context.config.database.schema, now);
  printer.close(summary);
  if (tags && summary.policies == 0 && !context.quiet) {
    std::cerr << no_tag_match_message("enabled policy", request.tags, "; nothing to do") << "\n";
  }
  return summary.any_failed() ? ExitCode::job_failed : ExitCode::ok;
}

}  // namespace retentiond
