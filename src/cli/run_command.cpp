#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/engine/bounds.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/run.hpp"
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

std::string target_of(const Action& action) {
  return action.partition ? action.partition->display() : action.table.display();
}

nlohmann::ordered_json action_json(const Action& action, const PolicyPlan& plan, const JobOutcome* outcome,
                                   bool dry_run) {
  auto optional = [](const auto& value) -> nlohmann::ordered_json {
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json();
  };
  return {
      {"policy", action.policy_id},
      {"strategy", action.strategy},
      {"table", action.table.display()},
      {"partition", action.partition ? nlohmann::ordered_json(action.partition->display()) : nlohmann::ordered_json()},
      {"action", action.action},
      {"sql", JobsLog::sql_text(action)},
      {"status", dry_run ? std::string("planned") : outcome->status},
      {"rows", outcome ? optional(outcome->rows) : nlohmann::ordered_json()},
      {"error", outcome ? optional(outcome->error) : nlohmann::ordered_json()},
      {"reason", action.reason},
      {"cutoff", format_instant(plan.cutoff)},
  };
}

// Streamed one action per line rather than built as one document: a dry run over 100,000
// partitions would otherwise hold every action twice in memory before printing the first.
void print_json(const RunReport& report) {
  std::optional<std::chrono::sys_seconds> shared_cutoff;
  bool one_cutoff = true;
  for (const auto& plan : report.plans) {
    if (shared_cutoff && *shared_cutoff != plan.cutoff) one_cutoff = false;
    shared_cutoff = plan.cutoff;
  }
  const nlohmann::ordered_json cutoff = shared_cutoff && one_cutoff
                                            ? nlohmann::ordered_json(format_instant(*shared_cutoff))
                                            : nlohmann::ordered_json();
  std::ostream& out = std::cout;
  out << "{\n  \"dry_run\": " + std::string(report.dry_run ? "true" : "false") +
                    ",\n  \"cutoff\": " + cutoff.dump() + ",\n  \"as_of\": \"" + format_instant(report.now) +
                    "\",\n  \"actions\": [";
  bool first = true;
  auto emit = [&](const nlohmann::ordered_json& item) {
    out << (first ? "\n    " : ",\n    ") << item.dump();
    first = false;
  };
  if (report.dry_run) {
    for (const auto& plan : report.plans) {
      for (const auto& action : plan.actions) emit(action_json(action, plan, nullptr, true));
    }
  }
  for (const auto& result : report.results) {
    const auto& plan = *std::find_if(report.plans.begin(), report.plans.end(),
                                     [&](const PolicyPlan& p) { return p.policy.id == result.action->policy_id; });
    emit(action_json(*result.action, plan, &result.outcome, false));
  }
  out << (first ? "],\n  \"policies\": [" : "\n  ],\n  \"policies\": [");
  first = true;
  for (const auto& plan : report.plans) {
    nlohmann::ordered_json skipped = nlohmann::ordered_json::array();
    for (const auto& skip : plan.skipped) skipped.push_back({{"partition", skip.partition.display()}, {"reason", skip.reason}});
    emit({{"id", plan.policy.id},
          {"cutoff", format_instant(plan.cutoff)},
          {"error", plan.error ? nlohmann::ordered_json(*plan.error) : nlohmann::ordered_json()},
          {"skipped", skipped}});
  }
  out << (first ? "]\n}\n" : "\n  ]\n}\n");
}

void print_text(const RunReport& report, OutputFormat format, bool quiet) {
  std::vector<std::vector<std::string>> rows;
  std::size_t planned = 0, succeeded = 0, failed = 0, skipped = 0;
  for (const auto& plan : report.plans) {
    if (plan.error) {
      ++failed;
      if (format == OutputFormat::compact) {
        std::cout << "policy=" << plan.policy.id << " status=failed error=" << nlohmann::json(*plan.error).dump() << "\n";
      } else {
        rows.push_back({plan.policy.id, "plan", plan.policy.table.display(), "failed", "", *plan.error});
      }
    }
    if (!report.dry_run) continue;
    for (const auto& action : plan.actions) {
      ++planned;
      if (format == OutputFormat::compact) {
        std::cout << "policy=" << action.policy_id << " action=" << action.action << " target=" << target_of(action)
                  << " status=planned sql=" << nlohmann::json(JobsLog::sql_text(action)).dump() << "\n";
      } else {
        rows.push_back({action.policy_id, action.action, target_of(action), "planned", "", JobsLog::sql_text(action)});
      }
    }
  }
  for (const auto& result : report.results) {
    const auto& o = result.outcome;
    (o.status == "succeeded" ? succeeded : o.status == "failed" ? failed : skipped)++;
    if (format == OutputFormat::compact) {
      std::cout << "policy=" << result.action->policy_id << " action=" << result.action->action
                << " target=" << target_of(*result.action) << " status=" << o.status
                << " rows=" << (o.rows ? std::to_string(*o.rows) : "-")
                << (o.error ? " error=" + nlohmann::json(*o.error).dump() : "") << "\n";
    } else {
      rows.push_back({result.action->policy_id, result.action->action, target_of(*result.action), o.status,
                      o.rows ? std::to_string(*o.rows) : "", o.error.value_or("")});
    }
  }
  if (format == OutputFormat::compact) return;
  if (quiet && failed == 0) return;
  if (!rows.empty()) {
    std::cout << render_table({"policy", "action", "target", "status", "rows", report.dry_run ? "sql" : "error"}, rows);
  }
  if (report.dry_run) {
    std::cout << "dry run as of " << format_instant(report.now) << ": " << planned << " action(s) planned for "
              << report.plans.size() << " policy(ies), nothing changed\n";
  } else {
    std::cout << "run as of " << format_instant(report.now) << ": " << succeeded << " succeeded, " << failed
              << " failed, " << skipped << " skipped\n";
  }
}

}  // namespace

ExitCode run_run_command(Context& context) {
  bool once = false;
  bool dry_run = false;
  std::vector<std::string> policy_ids;
  std::optional<std::string> tags;
  std::optional<std::string> as_of;
  po::options_description options("Options");
  options.add_options()
      ("once", po::bool_switch(&once), "plan and execute every selected policy once, then exit")
      ("dry-run", po::bool_switch(&dry_run), "print the plan and the exact SQL; change nothing anywhere")
      ("policy", po::value(&policy_ids)->value_name("ID")->composing(), "only this policy (repeatable; runs it even when disabled)")
      ("tags", po::value<std::string>()->value_name("a,b")->notifier([&](const std::string& v) { tags = v; }), "only policies carrying all these tags")
      ("as-of", po::value<std::string>()->value_name("WHEN")->notifier([&](const std::string& v) { as_of = v; }),
       "plan as if now were this ISO 8601 date or timestamp (UTC unless an offset is given)");
  if (context.help) {
    std::cout << command_help("run --once [--dry-run] [--policy ID]... [--tags a,b] [--as-of WHEN]",
                              "Plans every selected policy against the live catalog and executes it (oldest data first),\n"
                              "recording each action in jobs_log. Exit code 1 when any action failed.",
                              options);
    return ExitCode::ok;
  }
  (void)parse_command_line(context.args, options, {});
  if (!once) {
    throw usage_error("the scheduler daemon (run without --once) is not part of this version; use `run --once`");
  }
  RunRequest request;
  request.dry_run = dry_run;
  request.policy_ids = policy_ids;
  if (tags) request.tags = parse_tags(*tags);
  for (const auto& id : policy_ids) validate_policy_id(id);
  request.now = as_of ? parse_as_of(*as_of)
                      : std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());

  auto connection = context.open_database();
  if (dry_run) {
    // Read-only by construction: every transaction of this session is READ ONLY, so even a
    // bug that tried to write would be refused by the server.
    pqxx::nontransaction(*connection).exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  }
  auto dialect = make_dialect(context.config.database.dialect, *connection);
  const RunReport report = run_once(*connection, context.config, *dialect, request);
  if (context.output == OutputFormat::json) {
    print_json(report);
  } else {
    print_text(report, context.output, context.quiet);
  }
  return report.failed() ? ExitCode::job_failed : ExitCode::ok;
}

}  // namespace retentiond
