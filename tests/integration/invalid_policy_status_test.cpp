// `status` on a database holding a stored policy row that does not parse or validate.
#include <doctest/doctest.h>

#include <chrono>
#include <csignal>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/broken_policy.hpp"
#include "support/cli_fixture.hpp"
#include "support/http_client.hpp"

using nlohmann::json;
using retentiond::testing::add_good_and_broken;
using retentiond::testing::CliFixture;
using retentiond::testing::http_get;
using retentiond::testing::kBrokenRows;
using retentiond::testing::listening_address;
using namespace std::chrono_literals;

namespace {

std::optional<double> sample(const std::string& exposition, const std::string& series) {
  std::istringstream in(exposition);
  std::string line;
  while (std::getline(in, line)) {
    if (line.starts_with(series + " ")) return std::stod(line.substr(series.size() + 1));
  }
  return std::nullopt;
}

}  // namespace

TEST_CASE("invalid policy: status lists each kind of broken row as invalid with its error in every format") {
  for (const auto& row : kBrokenRows) {
    for (const bool enabled : {true, false}) {
      CAPTURE(row.kind);
      CAPTURE(enabled);
      CliFixture f;
      add_good_and_broken(f, row.assignment);
      if (!enabled) f.pg.execute("UPDATE retention.policies SET enabled = false WHERE id = 'bad'");
      const auto shown = json::parse(f.rd({"policy", "show", "bad", "-o", "json"}).out);
      REQUIRE(shown["error"].is_string());
      for (const std::vector<std::string>& extra : {std::vector<std::string>{}, std::vector<std::string>{"--no-pending"}}) {
        std::vector<std::string> args{"status", "-o", "json"};
        args.insert(args.end(), extra.begin(), extra.end());
        const auto status = f.rd(args);
        REQUIRE_MESSAGE(status.exit_code == 0, status.err);
        const auto doc = json::parse(status.out);
        REQUIRE(doc["policies"].size() == 2);
        const auto& bad = doc["policies"][0];
        CHECK(bad["id"] == "bad");
        CHECK(bad["enabled"] == enabled);
        CHECK(bad["plan_error"] == "invalid policy: " + shown["error"].get<std::string>());
        CHECK(bad["pending"].is_null());
        CHECK(doc["policies"][1]["plan_error"].is_null());
      }
      const auto table = f.rd({"status"});
      CHECK(table.exit_code == 0);
      CHECK_MESSAGE(table.out.find("invalid policy: ") != std::string::npos, table.out);
      CHECK(table.out.find("invalid") < table.out.find("invalid policy: "));  // in the enabled column
      const auto compact = f.rd({"status", "-o", "compact"});
      CHECK(compact.exit_code == 0);
      CHECK_MESSAGE(compact.out.find("policy=bad enabled=" + std::string(enabled ? "true" : "false") + " ") !=
                        std::string::npos,
                    compact.out);
      CHECK(compact.out.find(" error=\"invalid policy: ") != std::string::npos);
      CHECK(compact.out.find("policy=good enabled=true ") != std::string::npos);
    }
  }
}

TEST_CASE("invalid policy: the daemon runs the valid policies and counts each broken row as invalid") {
  for (const auto& row : kBrokenRows) {
    CAPTURE(row.kind);
    CliFixture f;
    add_good_and_broken(f, row.assignment);
    auto d = f.daemon({}, {});
    REQUIRE_MESSAGE(d->wait_for_output("policy.finished policy=good status=succeeded", 15s), d->err());
    CHECK(d->err().find("policy=bad") != std::string::npos);  // logged as invalid, by id
    CHECK(d->err().find("policy.starting policy=bad") == std::string::npos);
    const std::string address = listening_address(d->err());
    REQUIRE_MESSAGE(!address.empty(), d->err());
    const auto metrics = http_get(address, "/metrics");
    REQUIRE(metrics.status == 200);
    CHECK(sample(metrics.body, R"(retentiond_policies{state="invalid"})") == 1);
    CHECK(sample(metrics.body, R"(retentiond_policies{state="enabled"})") == 1);
    CHECK(sample(metrics.body, R"(retentiond_policies{state="disabled"})") == 0);
    CHECK(http_get(address, "/readyz").status == 200);
    // The broken policy's table is untouched: nothing ran for it.
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.jobs_log WHERE policy_id = 'bad'") == "0");
    d->send_signal(SIGTERM);
    CHECK(d->wait(15s).exit_code == 0);
  }
}
