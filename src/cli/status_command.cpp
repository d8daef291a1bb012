#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/core/escape.hpp"
#include "retentiond/core/json_text.hpp"
#include "retentiond/observe/status_report.hpp"

namespace po = boost::program_options;

namespace retentiond {

ExitCode run_status_command(Context& context) {
  bool no_pending = false;
  po::options_description options("Options");
  options.add_options()("no-pending", po::bool_switch(&no_pending),
                        "skip counting pending actions (no catalog read: cheaper on huge catalogs)");
  if (context.help) {
    std::cout << command_help(
        "status [--no-pending]",
        "Who leads, and per policy: last run (start, end, status, error), last success, next run,\n"
        "and the actions a run would take now (pending). Read from the database: works from any\n"
        "host. The daemon serves the same JSON document at /status.",
        options);
    return ExitCode::ok;
  }
  (void)parse_command_line(context.args, options, {});
  auto connection = context.open_database();
  const StatusReport report = read_status(*connection, context.config, !no_pending);

  if (context.output == OutputFormat::json) {
    std::cout << status_json(report);
    return ExitCode::ok;
  }
  const auto or_dash = [](const std::optional<std::string>& v) { return v.value_or("-"); };
  const auto pending_text = [](const StatusReport::PolicyRow& s) {
    return s.pending ? std::to_string(*s.pending) : "-";
  };
  const auto& leader = report.leader;
  if (context.output == OutputFormat::compact) {
    std::cout << "leader=" << (leader ? compact_value(leader->instance) : "-")
              << " active=" << (leader && leader->active ? "true" : "false")
              << " schema_version=" << report.schema_version << "\n";
    for (const auto& s : report.policies) {
      const auto& error = s.invalid_reason ? s.plan_error : s.last_error;
      std::cout << "policy=" << compact_value(s.id) << " enabled=" << (s.enabled ? "true" : "false")
                << " last_run=" << or_dash(s.last_started)
                << " status=" << compact_value(or_dash(s.last_status))
                << " last_success=" << or_dash(s.last_succeeded) << " failures=" << s.failures
                << " next_retry=" << or_dash(s.next_retry) << " next_run=" << or_dash(s.next_run)
                << " pending=" << pending_text(s)
                << (error ? " error=" + json_string(*error) : "") << "\n";
    }
    return ExitCode::ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& s : report.policies) {
    // An invalid row says so in its enabled column; its plan error gives the reason.
    rows.push_back({s.id, s.invalid_reason ? "invalid" : s.enabled ? "yes" : "no", s.schedule,
                    or_dash(s.last_started), or_dash(s.last_status), or_dash(s.last_succeeded),
                    std::to_string(s.failures), or_dash(s.next_retry), or_dash(s.next_run), pending_text(s),
                    s.plan_error.value_or(s.last_error.value_or(""))});
  }
  std::cout << "leader: "
            << (leader ? escape_control(leader->instance) +
                             (leader->active ? " (lease until " : " (lease expired at ") +
                             leader->expires_at + ")"
                       : "none")
            << "\n";
  if (!rows.empty()) {
    std::cout << render_table({"policy", "enabled", "schedule", "last run", "status", "last success",
                               "failures", "next retry", "next run", "pending", "error"},
                              rows);
  }
  return ExitCode::ok;
}

}  // namespace retentiond
