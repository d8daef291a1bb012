#include <iostream>
#include <map>

#include <pqxx/pqxx>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/core/json_text.hpp"
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

void append_action(std::string& out, const Action& action, const std::string& cutoff, const JobOutcome* outcome) {
  JsonObjectWriter(out)
      .field("policy", action.policy_id)
      .field("strategy", action.strategy)
      .field("table", action.table.display())
      .optional_field("partition", action.partition ? std::optional(action.partition->display()) : std::nullopt)
      .field("action", action.action)
      .field("sql", JobsLog::sql_text(action))
      .field("status", outcome ? std::string_view(outcome->status) : "planned")
      .number("rows", outcome ? outcome->rows : std::nullopt)
      .optional_field("error", outcome ? outcome->error : std::nullopt)
      .field("reason", action.reason)
      .field("cutoff", cutoff)
      .close();
}

// Streamed one item per line and written field by field rather than built as one document:
// a dry run over 100,000 partitions would otherwise hold every action twice in memory before
// printing the first, and spend longer building JSON trees than planning.
void print_json(const RunReport& report) {
  std::optional<std::chrono::sys_seconds> shared_cutoff;
  bool one_cutoff = true;
  for (const auto& plan : report.plans) {
    if (shared_cutoff && *shared_cutoff != plan.cutoff) one_cutoff = false;
    shared_cutoff = plan.cutoff;
  }
  std::string out = "{\n  \"dry_run\": " + std::string(report.dry_run ? "true" : "false") + ",\n  \"cutoff\": ";
  if (shared_cutoff && one_cutoff) {
    append_json_string(out, format_instant(*shared_cutoff));
  } else {
    out += "null";
  }
  out += ",\n  \"as_of\": ";
  append_json_string(out, format_instant(report.now));
  out += ",\n  \"actions\": [";
  bool first = true;
  const auto next_item = [&] {
    out += first ? "\n    " : ",\n    ";
    first = false;
  };
  const auto flush = [&] {
    if (out.size() < 1 << 16) return;
    std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
    out.clear();
  };
  std::map<std::string_view, std::string> cutoffs;  // policy id -> its cutoff, formatted once
  for (const auto& plan : report.plans) cutoffs.emplace(plan.policy.id, format_instant(plan.cutoff));
  if (report.dry_run) {
    for (const auto& plan : report.plans) {
      const std::string& cutoff = cutoffs.at(plan.policy.id);
      for (const auto& action : plan.actions) {
        next_item();
        append_action(out, action, cutoff, nullptr);
        flush();
      }
    }
  }
  for (const auto& result : report.results) {
    next_item();
    append_action(out, *result.action, cutoffs.at(result.action->policy_id), &result.outcome);
    flush();
  }
  out += first ? "],\n  \"policies\": [" : "\n  ],\n  \"policies\": [";
  first = true;
  for (const auto& plan : report.plans) {
    next_item();
    std::string skipped = "[";
    for (const auto& skip : plan.skipped) {
      if (skipped.size() > 1) skipped += ',';
      JsonObjectWriter(skipped).field("partition", skip.partition.display()).field("reason", skip.reason).close();
    }
    skipped += ']';
    JsonObjectWriter(out)
        .field("id", plan.policy.id)
        .field("cutoff", cutoffs.at(plan.policy.id))
        .optional_field("error", plan.error)
        .raw("skipped", skipped)
        .close();
    flush();
  }
  out += first ? "]\n}\n" : "\n  ]\n}\n";
  std::cout.write(out.data(), static_cast<std::streamsize>(out.size()));
}

std::string json_quoted(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

void print_text(const RunReport& report, OutputFormat format, bool quiet) {
  std::vector<std::vector<std::string>> rows;
  std::size_t planned = 0, succeeded = 0, failed = 0, skipped = 0;
  for (const auto& plan : report.plans) {
    if (plan.error) {
      ++failed;
      if (format == OutputFormat::compact) {
        std::cout << "policy=" << plan.policy.id << " status=failed error=" << json_quoted(*plan.error) << "\n";
      } else {
        rows.push_back({plan.policy.id, "plan", plan.policy.table.display(), "failed", "", *plan.error});
      }
    }
    if (!report.dry_run) continue;
    for (const auto& action : plan.actions) {
      ++planned;
      if (format == OutputFormat::compact) {
        std::cout << "policy=" << action.policy_id << " action=" << action.action << " target=" << target_of(action)
                  << " status=planned sql=" << json_quoted(JobsLog::sql_text(action)) << "\n";
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
                << (o.error ? " error=" + json_quoted(*o.error) : "") << "\n";
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
