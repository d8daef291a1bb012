#include <iostream>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/db/policy_store.hpp"
#include "retentiond/db/schema.hpp"
#include "retentiond/engine/run.hpp"
#include "retentiond/sql/identifier.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

constexpr const char* iso_utc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

struct PolicyStatus {
  std::optional<std::string> last_started, last_finished, last_status, last_error, next_run;
  std::optional<std::size_t> pending;
  std::optional<std::string> plan_error;
};

// Counts what a dry run would do now, per policy: the work waiting for the next run.
class PendingCounter final : public RunObserver {
 public:
  explicit PendingCounter(std::map<std::string, PolicyStatus>& status) : status_(status) {}
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>&) override {
    auto& s = status_[plan.policy.id];
    s.pending = plan.actions.size();
    if (plan.error) s.plan_error = plan.error;
  }

 private:
  std::map<std::string, PolicyStatus>& status_;
};

std::optional<std::string> text_of(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional(f.as<std::string>());
}

}  // namespace

ExitCode run_status_command(Context& context) {
  bool no_pending = false;
  po::options_description options("Options");
  options.add_options()("no-pending", po::bool_switch(&no_pending),
                        "skip counting pending actions (no catalog read: cheaper on huge catalogs)");
  if (context.help) {
    std::cout << command_help(
        "status [--no-pending]",
        "Who leads, and per policy: last run (start, end, status, error), next run, and the\n"
        "actions a run would take now (pending). Read from the database: works from any host.",
        options);
    return ExitCode::ok;
  }
  (void)parse_command_line(context.args, options, {});
  auto connection = context.open_database();
  const std::string& schema = context.config.database.schema;
  // Read only, whatever happens below: status never changes anything.
  pqxx::nontransaction(*connection).exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  const int version = schema_version(*connection, schema);
  const std::vector<Policy> policies = PolicyStore(*connection, schema).list();

  std::optional<std::string> leader, leader_until;
  bool leader_active = false;
  std::map<std::string, PolicyStatus> status;
  {
    pqxx::read_transaction tx(*connection);
    const auto lease = tx.exec("SELECT holder, to_char(expires_at AT TIME ZONE 'UTC', " +
                               std::string(iso_utc) + "), expires_at > now() FROM " +
                               quote_identifier(schema) + ".leases WHERE name = 'scheduler'");
    if (!lease.empty()) {
      leader = lease[0][0].as<std::string>();
      leader_until = lease[0][1].as<std::string>();
      leader_active = lease[0][2].as<bool>();
    }
    const std::string at = std::string(" AT TIME ZONE 'UTC', ") + iso_utc + ")";
    for (const auto& row :
         tx.exec("SELECT policy_id, to_char(last_started_at" + at + ", to_char(last_finished_at" + at +
                 ", last_status, last_error, to_char(next_run_at" + at + " FROM " + quote_identifier(schema) +
                 ".policy_state")) {
      auto& s = status[row[0].as<std::string>()];
      s.last_started = text_of(row[1]);
      s.last_finished = text_of(row[2]);
      s.last_status = text_of(row[3]);
      s.last_error = text_of(row[4]);
      s.next_run = text_of(row[5]);
    }
  }
  if (!no_pending) {
    RunRequest request;
    request.dry_run = true;
    request.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    PendingCounter counter(status);
    const auto dialect = make_dialect(context.config.database.dialect, *connection);
    (void)run_once(*connection, context.config, *dialect, request, counter);
  }

  auto schedule_of = [&](const Policy& p) {
    return p.schedule.value_or(context.config.scheduler.default_schedule);
  };
  if (context.output == OutputFormat::json) {
    auto optional = [](const auto& v) { return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json(); };
    nlohmann::ordered_json doc;
    doc["database"] = {{"up", true}, {"schema", schema}, {"schema_version", version}};
    doc["leader"] = leader ? nlohmann::ordered_json{{"instance", *leader},
                                                    {"expires_at", *leader_until},
                                                    {"active", leader_active}}
                           : nlohmann::ordered_json();
    doc["policies"] = nlohmann::ordered_json::array();
    for (const auto& p : policies) {
      const auto& s = status[p.id];
      doc["policies"].push_back({{"id", p.id},
                                 {"table", p.table.display()},
                                 {"strategy", p.strategy},
                                 {"enabled", p.enabled},
                                 {"schedule", schedule_of(p)},
                                 {"last_started_at", optional(s.last_started)},
                                 {"last_finished_at", optional(s.last_finished)},
                                 {"last_status", optional(s.last_status)},
                                 {"last_error", optional(s.last_error)},
                                 {"next_run_at", optional(s.next_run)},
                                 {"pending", optional(s.pending)},
                                 {"plan_error", optional(s.plan_error)}});
    }
    std::cout << doc.dump(2) << "\n";
    return ExitCode::ok;
  }
  const auto or_dash = [](const std::optional<std::string>& v) { return v.value_or("-"); };
  const auto pending_text = [](const PolicyStatus& s) {
    return s.pending ? std::to_string(*s.pending) : "-";
  };
  const std::string leader_line =
      leader ? *leader + (leader_active ? " (lease until " : " (lease expired at ") + *leader_until + ")"
             : "none";
  if (context.output == OutputFormat::compact) {
    std::cout << "leader=" << (leader ? *leader : "-") << " active=" << (leader_active ? "true" : "false")
              << " schema_version=" << version << "\n";
    for (const auto& p : policies) {
      const auto& s = status[p.id];
      std::cout << "policy=" << p.id << " enabled=" << (p.enabled ? "true" : "false")
                << " last_run=" << or_dash(s.last_started) << " status=" << or_dash(s.last_status)
                << " next_run=" << or_dash(s.next_run) << " pending=" << pending_text(s)
                << (s.last_error ? " error=" + nlohmann::json(*s.last_error).dump() : "") << "\n";
    }
    return ExitCode::ok;
  }
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : policies) {
    const auto& s = status[p.id];
    rows.push_back({p.id, p.enabled ? "yes" : "no", schedule_of(p), or_dash(s.last_started),
                    or_dash(s.last_status), or_dash(s.next_run), pending_text(s),
                    s.plan_error.value_or(s.last_error.value_or(""))});
  }
  std::cout << "leader: " << leader_line << "\n";
  if (!rows.empty()) {
    std::cout << render_table(
        {"policy", "enabled", "schedule", "last run", "status", "next run", "pending", "error"}, rows);
  }
  return ExitCode::ok;
}

}  // namespace retentiond
