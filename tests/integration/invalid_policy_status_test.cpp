// `status` on a database holding a stored policy row that does not parse or validate.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/broken_policy.hpp"
#include "support/cli_fixture.hpp"

using nlohmann::json;
using retentiond::testing::add_good_and_broken;
using retentiond::testing::CliFixture;
using retentiond::testing::kBrokenRows;

TEST_CASE("invalid policy: status lists each kind of broken row with state invalid and its error in every format") {
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
        CHECK(bad["state"] == "invalid");
        CHECK(bad["enabled"] == enabled);
        CHECK(bad["error"] == shown["error"]);
        CHECK(doc["policies"][1]["state"] == "enabled");
        CHECK(doc["policies"][1]["error"].is_null());
      }
      const auto table = f.rd({"status"});
      CHECK(table.exit_code == 0);
      CHECK_MESSAGE(table.out.find("invalid policy: ") != std::string::npos, table.out);
      CHECK(table.out.find("invalid") < table.out.find("invalid policy: "));  // in the enabled column
      const auto compact = f.rd({"status", "-o", "compact"});
      CHECK(compact.exit_code == 0);
      CHECK_MESSAGE(compact.out.find("policy=bad enabled=" + std::string(enabled ? "true" : "false") +
                                     " state=invalid") != std::string::npos,
                    compact.out);
      CHECK(compact.out.find("policy=good enabled=true state=enabled") != std::string::npos);
    }
  }
}
