#include <iostream>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/core/json_text.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/policy/duration.hpp"
#include "retentiond/policy/policy.hpp"
#include "retentiond/sql/identifier.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

constexpr const char* job_columns[] = {"id",     "run_id",        "policy_id", "strategy",   "table_name",
                                       "partition", "action",     "sql",       "status",     "rows_affected",
                                       "bytes",  "started_at",    "finished_at", "error",    "instance"};

// Filters are all optional; each is a parameter, NULL meaning "any", so one statement serves
// every combination and the indexes on (policy_id, started_at), (status, started_at) and
// (started_at) apply.
constexpr const char* jobs_sql = R"sql(
SELECT id, run_id, policy_id, strategy, table_name, "partition", action, sql, status, rows_affected, bytes,
       to_char(started_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       to_char(finished_at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
       error, instance
  FROM @jobs@
 WHERE ($1::text IS NULL OR policy_id = $1)
   AND ($2::text IS NULL OR status = $2)
   AND ($3::timestamptz IS NULL OR started_at >= $3)
 ORDER BY started_at DESC, id DESC
 LIMIT $4)sql";

const std::vector<std::string> statuses = {"running", "succeeded", "failed", "skipped", "abandoned"};

}  // namespace

ExitCode run_jobs_command(Context& context) {
  std::optional<std::string> policy;
  std::optional<std::string> status;
  std::optional<std::string> since;
  long long limit = 50;
  po::options_description options("Options");
  options.add_options()
      ("policy", po::value<std::string>()->value_name("ID")->notifier([&](const std::string& v) { policy = v; }), "only this policy")
      ("status", po::value<std::string>()->value_name("S")->notifier([&](const std::string& v) { status = v; }),
       "running | succeeded | failed | skipped | abandoned")
      ("since", po::value<std::string>()->value_name("DURATION")->notifier([&](const std::string& v) { since = v; }),
       "only jobs started within this long, e.g. 24h, 7d")
      ("limit", po::value(&limit)->value_name("N"), "at most N rows, newest first (default 50)");
  if (context.help) {
    std::cout << command_help("jobs [--policy ID] [--status S] [--since DURATION] [--limit N]",
                              "Lists jobs_log rows, newest first.", options);
    return ExitCode::ok;
  }
  (void)parse_command_line(context.args, options, {});
  if (policy) validate_policy_id(*policy);
  if (status && std::find(statuses.begin(), statuses.end(), *status) == statuses.end()) {
    throw usage_error("invalid --status \"" + *status + "\": expected running, succeeded, failed, skipped or abandoned");
  }
  if (limit < 1 || limit > 1000000) throw usage_error("invalid --limit \"" + std::to_string(limit) + "\": expected 1 to 1000000");
  std::optional<std::string> since_at;
  if (since) {
    const auto now = std::chrono::floor<std::chrono::seconds>(std::chrono::system_clock::now());
    const auto from = Duration::parse(*since).before(now);
    // jobs_log cannot hold a job from before year 1 (nor from before retentiond); a --since
    // reaching there is a typo, which the server would only report as "out of range".
    constexpr std::chrono::sys_days year_one{std::chrono::year{1} / 1 / 1};
    if (from < year_one) {
      throw usage_error("invalid --since " + quote_input(*since) + ": reaches before the year 1; give a shorter duration");
    }
    since_at = format_instant(from);
  }

  auto connection = context.open_database();
  pqxx::read_transaction tx(*connection);
  std::string sql = jobs_sql;
  sql.replace(sql.find("@jobs@"), 6, quote_identifier(context.config.database.schema) + ".jobs_log");
  const auto rows = tx.exec_params(sql, policy, status, since_at, limit);

  if (context.output == OutputFormat::json) {
    auto array = nlohmann::ordered_json::array();
    for (const auto& row : rows) {
      nlohmann::ordered_json job;
      for (std::size_t i = 0; i < std::size(job_columns); ++i) {
        const auto& field = row[static_cast<pqxx::row::size_type>(i)];
        const bool numeric = i == 0 || i == 9 || i == 10;
        if (field.is_null()) {
          job[job_columns[i]] = nullptr;
        } else if (numeric) {
          job[job_columns[i]] = field.as<long long>();
        } else {
          job[job_columns[i]] = field.as<std::string>();
        }
      }
      array.push_back(job);
    }
    std::cout << array.dump(2) << "\n";
    return ExitCode::ok;
  }
  auto text = [](const pqxx::field& f) { return f.is_null() ? std::string() : f.as<std::string>(); };
  if (context.output == OutputFormat::compact) {
    // Rows hold catalog names and server errors: anything may be in them, a newline included.
    for (const auto& row : rows) {
      std::cout << "id=" << text(row[0]) << " policy=" << compact_value(text(row[2]))
                << " action=" << compact_value(text(row[6]))
                << " target=" << compact_value(row[5].is_null() ? text(row[4]) : text(row[5]))
                << " status=" << compact_value(text(row[8]))
                << " rows=" << (row[9].is_null() ? "-" : text(row[9])) << " started_at=" << text(row[11])
                << (row[13].is_null() ? "" : " error=" + json_string(text(row[13]))) << "\n";
    }
    return ExitCode::ok;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& row : rows) {
    table.push_back({text(row[0]), text(row[11]), text(row[2]), text(row[6]),
                     row[5].is_null() ? text(row[4]) : text(row[5]), text(row[8]), text(row[9]), text(row[13])});
  }
  std::cout << render_table({"id", "started_at", "policy", "action", "target", "status", "rows", "error"}, table);
  return ExitCode::ok;
}

}  // namespace retentiond
