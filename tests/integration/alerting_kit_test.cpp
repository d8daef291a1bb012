// The alerting kit for the daemon's Prometheus metrics: the rules in config/prometheus/alerts.yml
// with their promtool unit tests (alerts_test.yml) and the Grafana dashboard in
// config/grafana/retentiond-dashboard.json. scripts/check-alert-rules runs promtool (Debian
// package prometheus) on the rules; these cases run it, show that it can fail, and check what
// promtool does not see: the dashboard's JSON and the PromQL in it.
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/metric_families.hpp"
#include "support/run.hpp"

namespace fs = std::filesystem;
using retentiond::testing::run_process;

namespace {

// tests/integration/alerting_kit_test.cpp -> the repository root.
fs::path repository_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

// The metrics the daemon exports (from the code itself), with the series its histogram adds.
std::set<std::string> known_metrics() {
  auto names = retentiond::testing::metric_families();
  for (const char* suffix : {"_bucket", "_sum", "_count"})
    names.insert("retentiond_job_duration_seconds" + std::string(suffix));
  return names;
}

std::string read_file(const fs::path& path) {
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void write_file(const fs::path& path, const std::string& text) {
  std::ofstream out(path);
  out << text;
  REQUIRE_MESSAGE(out, "cannot write " << path);
}

// A private directory for one test case, removed with everything in it.
struct TempDirectory {
  fs::path path;
  TempDirectory() {
    std::string pattern = (fs::temp_directory_path() / "retentiond-alerts-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDirectory() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDirectory(const TempDirectory&) = delete;
  TempDirectory& operator=(const TempDirectory&) = delete;
};

// run_process executes a path, not a name looked up in PATH. Empty when not found.
fs::path find_in_path(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream directories(path == nullptr ? "" : path);
  std::string directory;
  while (std::getline(directories, directory, ':')) {
    if (directory.empty()) continue;
    fs::path candidate = fs::path(directory) / program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

// The rules with the first one-line `expr:` given an unmatched closing parenthesis.
std::string with_broken_expression(const std::string& rules) {
  const std::regex one_line_expr(R"((\n[ \t]+expr:[ \t]*[^|>\s][^\n]*))");
  std::smatch match;
  REQUIRE_MESSAGE(std::regex_search(rules, match, one_line_expr), "the rules have no one-line expr");
  return match.prefix().str() + match[1].str() + " )" + match.suffix().str();
}

// The rules without their `for:` durations, so every alert fires at its first true evaluation.
std::string without_for_durations(const std::string& rules) {
  const std::regex for_line(R"(\n[ \t]+for:[^\n]*)");
  REQUIRE_MESSAGE(std::regex_search(rules, for_line), "the rules have no for: durations");
  return std::regex_replace(rules, for_line, "");
}

// Every panel, rows' nested panels included, in order.
void collect_panels(const nlohmann::json& panels, std::vector<nlohmann::json>& out) {
  for (const auto& panel : panels) {
    out.push_back(panel);
    if (panel.contains("panels")) collect_panels(panel["panels"], out);
  }
}

nlohmann::json load_dashboard() {
  const fs::path path = repository_root() / "config" / "grafana" / "retentiond-dashboard.json";
  const std::string text = read_file(path);
  auto dashboard = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  REQUIRE_MESSAGE(!dashboard.is_discarded(), path << " is not valid JSON");
  REQUIRE(dashboard.is_object());
  return dashboard;
}

struct Query {
  std::string panel;  // its title
  std::string expr;
};

// The PromQL of every panel target.
std::vector<Query> dashboard_queries(const nlohmann::json& dashboard) {
  std::vector<nlohmann::json> panels;
  collect_panels(dashboard.at("panels"), panels);
  std::vector<Query> queries;
  for (const auto& panel : panels) {
    if (!panel.contains("targets")) continue;
    for (const auto& target : panel["targets"]) {
      queries.push_back({panel.value("title", "(untitled)"), target.value("expr", "")});
    }
  }
  return queries;
}

const nlohmann::json* template_variable(const nlohmann::json& dashboard, const std::string& name) {
  for (const auto& variable : dashboard.at("templating").at("list")) {
    if (variable.value("name", "") == name) return &variable;
  }
  return nullptr;
}

}  // namespace

TEST_CASE(
    "alerting kit: check-alert-rules passes, promtool finds the rules valid and their unit tests pass") {
  const fs::path script = repository_root() / "scripts" / "check-alert-rules";
  REQUIRE(fs::exists(script));
  const auto result = run_process({script.string()}, {}, std::chrono::seconds(120));
  INFO("stdout: " << result.out);
  INFO("stderr: " << result.err);
  CHECK_MESSAGE((result.exit_code == 0),
                "check-alert-rules failed; exit status 2 with 'promtool not found' means the Debian "
                "package prometheus is missing (scripts/install-deps installs it)");
  // promtool's own verdicts: `check rules` counts the rules, `test rules` prints SUCCESS alone.
  CHECK(std::regex_search(result.out,
                          std::regex(R"(Checking [^\n]*alerts\.yml\n  SUCCESS: [1-9][0-9]* rules found)")));
  CHECK(std::regex_search(result.out, std::regex(R"(Unit Testing: +[^\n]*alerts_test\.yml\n  SUCCESS\n)")));
  CHECK(result.out.find("FAIL") == std::string::npos);
  CHECK(result.out.find("check-alert-rules: OK\n") != std::string::npos);
}

TEST_CASE("alerting kit: the dashboard parses and its queries use only the metrics the daemon exports") {
  const auto dashboard = load_dashboard();
  CHECK(dashboard.value("schemaVersion", 0) >= 36);
  REQUIRE(dashboard.contains("panels"));
  std::vector<nlohmann::json> panels;
  collect_panels(dashboard["panels"], panels);
  CHECK(panels.size() >= 10);

  const auto queries = dashboard_queries(dashboard);
  CHECK(queries.size() >= 10);
  const std::regex metric_name(R"(\bretentiond_[A-Za-z0-9_:]*)");
  for (const auto& query : queries) {
    const std::string& expr = query.expr;
    INFO("panel " << query.panel << ": " << expr);
    CHECK_MESSAGE((!expr.empty()), "a target without an expr");
    std::size_t names = 0;
    for (auto it = std::sregex_iterator(expr.begin(), expr.end(), metric_name); it != std::sregex_iterator();
         ++it) {
      ++names;
      CHECK_MESSAGE((known_metrics().count(it->str()) == 1), it->str()
                                                                 << " is not a metric retentiond exports");
    }
    CHECK_MESSAGE((names > 0), "the query reads no retentiond metric");
  }

  // Every panel queries the data source the viewer picks, not one fixed at export time.
  for (const auto& panel : panels) {
    if (panel.value("type", "") == "row") continue;
    INFO("panel " << panel.value("title", "(untitled)"));
    CHECK(panel.at("datasource").value("uid", "") == "${datasource}");
  }
  const auto* datasource = template_variable(dashboard, "datasource");
  REQUIRE_MESSAGE((datasource != nullptr), "no datasource variable");
  CHECK(datasource->value("type", "") == "datasource");
  CHECK(datasource->value("query", "") == "prometheus");

  const auto* policy = template_variable(dashboard, "policy");
  REQUIRE_MESSAGE((policy != nullptr), "no policy variable");
  const nlohmann::json& query = policy->at("query");
  const std::string policy_query = query.is_object() ? query.value("query", "") : query.get<std::string>();
  CHECK(policy_query == "label_values(retentiond_jobs_total, policy)");
}

TEST_CASE("alerting kit: every dashboard query is valid PromQL") {
  const fs::path promtool = find_in_path("promtool");
  REQUIRE_MESSAGE((!promtool.empty()), "promtool not found (Debian package prometheus)");
  const auto queries = dashboard_queries(load_dashboard());
  REQUIRE(!queries.empty());

  // promtool parses PromQL only inside a rules file: one recording rule per query, with the
  // dashboard's variables replaced by what Grafana would put there. Inside a label matcher's
  // string $policy needs no replacing.
  const std::regex range_variable(R"(\$(__rate_interval|__interval|__range|window)\b)");
  std::string rules = "groups:\n  - name: dashboard\n    rules:\n";
  std::size_t index = 0;
  for (const auto& query : queries) {
    rules += "      # " + query.panel + "\n";
    rules += "      - record: dashboard:query_" + std::to_string(++index) + "\n";
    rules += "        expr: |\n          " + std::regex_replace(query.expr, range_variable, "5m") + "\n";
  }
  TempDirectory dir;
  const fs::path file = dir.path / "dashboard-queries.yml";
  write_file(file, rules);

  const auto result = run_process({promtool.string(), "check", "rules", file.string()}, {});
  INFO("rules: " << rules);
  INFO("stdout: " << result.out);
  INFO("stderr: " << result.err);
  CHECK((result.exit_code == 0));
  CHECK(result.out.find("SUCCESS: " + std::to_string(queries.size()) + " rules found") != std::string::npos);
}

TEST_CASE("alerting kit: a rules file with a syntax error in an expr fails check-alert-rules") {
  const fs::path root = repository_root();
  TempDirectory dir;
  const fs::path broken = dir.path / "alerts.yml";
  write_file(broken, with_broken_expression(read_file(root / "config" / "prometheus" / "alerts.yml")));

  const auto result = run_process({(root / "scripts" / "check-alert-rules").string(), broken.string()}, {},
                                  std::chrono::seconds(120));
  INFO("stdout: " << result.out);
  INFO("stderr: " << result.err);
  CHECK((result.exit_code == 1));
  CHECK(result.out.find("FAILED") != std::string::npos);
  CHECK(result.out.find("parse error") != std::string::npos);
  CHECK(result.out.find("check-alert-rules: FAIL: promtool check rules") != std::string::npos);
}

TEST_CASE("alerting kit: rules whose alerts fire at once, without their for durations, fail the unit tests") {
  const fs::path root = repository_root();
  TempDirectory dir;
  const fs::path hasty = dir.path / "alerts.yml";
  write_file(hasty, without_for_durations(read_file(root / "config" / "prometheus" / "alerts.yml")));

  const auto result = run_process({(root / "scripts" / "check-alert-rules").string(), hasty.string()}, {},
                                  std::chrono::seconds(120));
  INFO("stdout: " << result.out);
  INFO("stderr: " << result.err);
  CHECK((result.exit_code == 1));
  // The rules themselves are valid: it is their behaviour that the tests catch.
  CHECK(std::regex_search(result.out, std::regex(R"(SUCCESS: [1-9][0-9]* rules found)")));
  CHECK(result.out.find("check-alert-rules: FAIL: promtool test rules") != std::string::npos);
}
