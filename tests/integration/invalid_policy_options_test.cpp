// Stored options that are not a JSON object, and the edits that repair each kind of broken row.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/broken_policy.hpp"
#include "support/cli_fixture.hpp"

using nlohmann::json;
using retentiond::testing::add_good_and_broken;
using retentiond::testing::CliFixture;

TEST_CASE("invalid policy: an edit of the broken field repairs each kind of broken row, the others are refused") {
  struct Case {
    const char* assignment;
    std::vector<std::string> fix;
  };
  const Case cases[] = {
      {"ttl = 'banana'", {"--ttl", "30d"}},
      {"ttl = '0d'", {"--ttl", "30d"}},
      {"ttl = '-30d'", {"--ttl", "P30D"}},
      {"ttl = '9999y'", {"--ttl", "1y"}},
      {"strategy = 'shred'", {"--strategy", "delete"}},
      {"schedule = 'whenever'", {"--schedule", "@daily"}},
      {"options = '{\"batch_size\": \"lots\"}'::jsonb", {"--option", "partitions_per_transaction=5", "--option", "batch_size="}},
      {"options = '[1, 2]'::jsonb", {"--option", "detach=yes"}},
      {"options = '{\"keep_table\": \"true\", \"detach\": \"false\"}'::jsonb", {"--option", "detach="}},
      {"tags = ARRAY['bad tag']", {"--tags", "t"}},
  };
  for (const auto& c : cases) {
    CAPTURE(c.assignment);
    CliFixture f;
    add_good_and_broken(f, c.assignment);
    const std::string before = f.pg.scalar("SELECT row_to_json(p)::text FROM retention.policies p WHERE id = 'bad'");
    // An edit that leaves the broken field as it is cannot make the policy valid: refused.
    auto other = f.rd({"policy", "edit", "bad", "--disabled"});
    CHECK(other.exit_code == 2);
    auto unrelated = f.rd({"policy", "edit", "bad", "--partition-column", "ts"});
    CHECK(unrelated.exit_code == 2);
    CHECK(f.pg.scalar("SELECT row_to_json(p)::text FROM retention.policies p WHERE id = 'bad'") == before);
    std::vector<std::string> args{"policy", "edit", "bad"};
    args.insert(args.end(), c.fix.begin(), c.fix.end());
    auto fixed = f.rd(args);
    REQUIRE_MESSAGE(fixed.exit_code == 0, fixed.err);
    const auto after = json::parse(f.rd({"policy", "show", "bad", "-o", "json"}).out);
    CHECK_MESSAGE(!after.contains("error"), after.dump());
    CHECK(f.pg.scalar("SELECT count(*) FROM retention.policy_events WHERE action = 'edit' AND policy_id = 'bad'") ==
          "1");
    CHECK(f.rd({"run", "--once", "--policy", "bad"}).exit_code == 0);
  }
}

TEST_CASE("invalid policy: options that are not a JSON object are shown as stored and replaced by --option") {
  CliFixture f;
  add_good_and_broken(f, "options = '[1, 2]'::jsonb");
  const auto shown = json::parse(f.rd({"policy", "show", "bad", "-o", "json"}).out);
  CHECK(shown["options"] == json::array({1, 2}));
  CHECK(shown["error"].get<std::string>().find("[1, 2]") != std::string::npos);
  CHECK(f.rd({"policy", "show", "bad"}).out.find("[1, 2]") != std::string::npos);
  CHECK(f.rd({"policy", "list", "-o", "compact"}).out.find("[1, 2]") != std::string::npos);
  auto kept = f.rd({"policy", "edit", "bad", "--ttl", "60d"});
  CHECK(kept.exit_code == 2);
  CHECK_MESSAGE(kept.err.find("--option") != std::string::npos, kept.err);
  CHECK(f.pg.scalar("SELECT options::text FROM retention.policies WHERE id = 'bad'") == "[1, 2]");
  REQUIRE(f.rd({"policy", "edit", "bad", "--option", "partitions_per_transaction=3"}).exit_code == 0);
  CHECK(f.pg.scalar("SELECT options::text FROM retention.policies WHERE id = 'bad'") ==
        R"({"partitions_per_transaction": "3"})");
  // The before-image in the trail keeps what was stored.
  CHECK(f.pg.scalar("SELECT before->>'options' FROM retention.policy_events WHERE action = 'edit'") == "[1, 2]");
}
