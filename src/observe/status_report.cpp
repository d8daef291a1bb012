#include "retentiond/observe/status_report.hpp"

#include <chrono>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/db/policy_store.hpp"
#include "retentiond/db/schema.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/engine/run.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

constexpr const char* iso_utc = "'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'";

// Counts what a dry run would do now, per policy: the work waiting for the next run.
class PendingCounter final : public RunObserver {
 public:
  explicit PendingCounter(std::map<std::string, StatusReport::PolicyRow*>& rows) : rows_(rows) {}
  void finished(const PolicyPlan& plan, const std::vector<ActionResult>&) override {
    const auto it = rows_.find(plan.policy.id);
    if (it == rows_.end()) return;
    it->second->pending = plan.actions.size();
    if (plan.error) it->second->plan_error = plan.error;
  }

 private:
  std::map<std::string, StatusReport::PolicyRow*>& rows_;
};

std::optional<std::string> text_of(const pqxx::field& f) {
  return f.is_null() ? std::nullopt : std::optional(f.as<std::string>());
}

nlohmann::ordered_json optional(const auto& v) {
  return v ? nlohmann::ordered_json(*v) : nlohmann::ordered_json();
}

}  // namespace

StatusReport read_status(pqxx::connection& connection, const Config& config, bool count_pending) {
  StatusReport report;
  report.schema = config.database.schema;
  // Read only, whatever happens below: status never changes anything.
  pqxx::nontransaction(connection).exec("SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY");
  report.schema_version = schema_version(connection, report.schema);
  const std::vector<Policy> policies = PolicyStore(connection, report.schema).list();
  std::map<std::string, StatusReport::PolicyRow*> by_id;
  report.policies.reserve(policies.size());
  for (const auto& p : policies) {
    auto& row = report.policies.emplace_back();
    row.id = p.id;
    row.table = p.table.display();
    row.strategy = p.strategy;
    row.schedule = p.schedule.value_or(config.scheduler.default_schedule);
    row.enabled = p.enabled;
    row.invalid_reason = p.invalid_reason;
    by_id[p.id] = &row;
  }
  {
    pqxx::read_transaction tx(connection);
    const auto lease = tx.exec("SELECT holder, to_char(expires_at AT TIME ZONE 'UTC', " +
                               std::string(iso_utc) + "), expires_at > now() FROM " +
                               quote_identifier(report.schema) + ".leases WHERE name = 'scheduler'");
    if (!lease.empty()) {
      report.leader = StatusReport::Leader{lease[0][0].as<std::string>(), lease[0][1].as<std::string>(),
                                           lease[0][2].as<bool>()};
    }
    const std::string at = std::string(" AT TIME ZONE 'UTC', ") + iso_utc + ")";
    for (const auto& row :
         tx.exec("SELECT policy_id, to_char(last_started_at" + at + ", to_char(last_finished_at" + at +
                 ", last_status, last_error, to_char(next_run_at" + at + ", to_char(last_succeeded_at" + at +
                 ", failures, to_char(next_retry_at" + at + " FROM " + quote_identifier(report.schema) +
                 ".policy_state")) {
      const auto it = by_id.find(row[0].as<std::string>());
      if (it == by_id.end()) continue;
      auto& s = *it->second;
      s.last_started = text_of(row[1]);
      s.last_finished = text_of(row[2]);
      s.last_status = text_of(row[3]);
      s.last_error = text_of(row[4]);
      s.next_run = text_of(row[5]);
      s.last_succeeded = text_of(row[6]);
      s.failures = row[7].as<int>();
      s.next_retry = text_of(row[8]);
    }
  }
  if (count_pending) {
    RunRequest request;
    request.dry_run = true;
    request.now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    PendingCounter counter(by_id);
    const auto dialect = make_dialect(config.database.dialect, connection);
    (void)run_once(connection, config, *dialect, request, counter);
  }
  // A stored row that does not parse or validate cannot plan: its reason is its plan error,
  // with or without a pending count.
  for (auto& row : report.policies) {
    if (!row.invalid_reason) continue;
    row.plan_error = "invalid policy: " + *row.invalid_reason;
    row.pending.reset();
  }
  return report;
}

std::string status_json(const StatusReport& report) {
  nlohmann::ordered_json doc;
  doc["database"] = {{"up", true}, {"schema", report.schema}, {"schema_version", report.schema_version}};
  doc["leader"] = report.leader ? nlohmann::ordered_json{{"instance", report.leader->instance},
                                                         {"expires_at", report.leader->expires_at},
                                                         {"active", report.leader->active}}
                                : nlohmann::ordered_json();
  doc["policies"] = nlohmann::ordered_json::array();
  for (const auto& s : report.policies) {
    doc["policies"].push_back({{"id", s.id},
                               {"table", s.table},
                               {"strategy", s.strategy},
                               {"enabled", s.enabled},
                               {"schedule", s.schedule},
                               {"last_started_at", optional(s.last_started)},
                               {"last_finished_at", optional(s.last_finished)},
                               {"last_status", optional(s.last_status)},
                               {"last_error", optional(s.last_error)},
                               {"last_succeeded_at", optional(s.last_succeeded)},
                               {"failures", s.failures},
                               {"next_retry_at", optional(s.next_retry)},
                               {"next_run_at", optional(s.next_run)},
                               {"pending", optional(s.pending)},
                               {"plan_error", optional(s.plan_error)}});
  }
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

std::string status_json_unreachable(const std::string& schema, const std::string& error) {
  nlohmann::ordered_json doc;
  doc["database"] = {{"up", false}, {"schema", schema}, {"schema_version", nullptr}, {"error", error}};
  doc["leader"] = nullptr;
  doc["policies"] = nlohmann::ordered_json::array();
  return doc.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
}

}  // namespace retentiond
