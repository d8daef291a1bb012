#include "retentiond/policy/policy.hpp"

#include <chrono>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "retentiond/core/error.hpp"

using retentiond::default_policy_id;
using retentiond::Duration;
using retentiond::has_all_tags;
using retentiond::parse_tags;
using retentiond::Policy;
using retentiond::policy_to_json;
using retentiond::QualifiedName;
using retentiond::validate_policy;
using retentiond::validate_policy_id;

namespace {

Policy delete_policy() {
  Policy policy;
  policy.id = "public.metrics-delete";
  policy.table = {"public", "metrics"};
  policy.strategy = "delete";
  policy.ttl = Duration::parse("90d");
  return policy;
}

Policy snapshot_policy() {
  Policy policy = delete_policy();
  policy.id = "public.metrics-snapshot";
  policy.strategy = "snapshot";
  policy.target = "cold";
  return policy;
}

// Runs `f` expecting a usage error; returns its message.
template <typename F>
std::string usage_error_of(F&& f) {
  try {
    f();
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no usage error");
  return {};
}

std::string validation_error(const Policy& policy) {
  return usage_error_of([&] { validate_policy(policy); });
}

std::string tags_error(const std::string& csv) {
  return usage_error_of([&] { (void)parse_tags(csv); });
}

std::string id_error(const std::string& id) {
  return usage_error_of([&] { validate_policy_id(id); });
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("policy: a complete delete policy is valid") {
  CHECK_NOTHROW(validate_policy(delete_policy()));
  Policy policy = delete_policy();
  policy.partition_column = "ts";
  policy.tags = {"prod", "team-a"};
  policy.schedule = "@daily";
  policy.enabled = false;
  policy.options = {{"batch_size", "5000"}, {"detach", "true"}, {"lock_timeout", "5s"}};
  CHECK_NOTHROW(validate_policy(policy));
}

TEST_CASE("policy: reallocate and snapshot policies with a target are valid") {
  CHECK_NOTHROW(validate_policy(snapshot_policy()));
  Policy policy = delete_policy();
  policy.strategy = "reallocate";
  policy.target = "cold_space";
  CHECK_NOTHROW(validate_policy(policy));
}

TEST_CASE("policy: an unknown strategy is a usage error that lists the known ones") {
  Policy policy = delete_policy();
  policy.strategy = "truncate";
  const auto message = validation_error(policy);
  CHECK(contains(message, "unknown strategy \"truncate\""));
  CHECK(contains(message, "delete, reallocate, snapshot"));
}

TEST_CASE("policy: strategy names are case-sensitive") {
  Policy policy = delete_policy();
  policy.strategy = "DELETE";
  CHECK(contains(validation_error(policy), "unknown strategy \"DELETE\""));
}

TEST_CASE("policy: a strategy that needs a target is refused without one") {
  Policy policy = snapshot_policy();
  policy.target.reset();
  const auto message = validation_error(policy);
  CHECK(contains(message, "strategy snapshot needs a target"));
  CHECK(contains(message, "snapshot repository"));

  policy.target = "";
  CHECK(contains(validation_error(policy), "needs a target"));

  policy.strategy = "reallocate";
  policy.target.reset();
  CHECK(contains(validation_error(policy), "strategy reallocate needs a target"));
}

TEST_CASE("policy: delete takes no target") {
  Policy policy = delete_policy();
  policy.target = "cold";
  CHECK(contains(validation_error(policy), "strategy delete takes no target, got \"cold\""));
}

TEST_CASE("policy: a zero ttl is a usage error") {
  Policy policy = delete_policy();
  policy.ttl = Duration();
  CHECK(contains(validation_error(policy), "ttl must be positive"));
}

TEST_CASE("policy: a calendar ttl is valid") {
  Policy policy = delete_policy();
  policy.ttl = Duration::parse("1y6mo");
  CHECK_NOTHROW(validate_policy(policy));
}

TEST_CASE("policy: a bad schedule is a usage error naming it") {
  Policy policy = delete_policy();
  policy.schedule = "61 * * * *";
  CHECK(contains(validation_error(policy), "61 * * * *"));
  policy.schedule = "@fortnightly";
  CHECK(contains(validation_error(policy), "@fortnightly"));
  policy.schedule = "@every 15m";
  CHECK_NOTHROW(validate_policy(policy));
  policy.schedule = "*/5 * * * *";
  CHECK_NOTHROW(validate_policy(policy));
}

TEST_CASE("policy: unknown and badly typed options are usage errors") {
  Policy policy = delete_policy();
  policy.options = {{"bogus", "1"}};
  CHECK(contains(validation_error(policy), "unknown option \"bogus\""));
  policy.options = {{"batch_size", "many"}};
  CHECK(contains(validation_error(policy), "\"many\""));
  // keep_table belongs to delete, not to snapshot.
  policy = snapshot_policy();
  policy.options = {{"keep_table", "true"}};
  CHECK(contains(validation_error(policy), "unknown option \"keep_table\" for strategy snapshot"));
  policy.options = {{"max_runtime", "2h"}};
  CHECK_NOTHROW(validate_policy(policy));
}

TEST_CASE("policy: a bad id or tag makes the policy invalid") {
  Policy policy = delete_policy();
  policy.id = "";
  CHECK(contains(validation_error(policy), "invalid policy id"));
  policy = delete_policy();
  policy.tags = {"has space"};
  CHECK(contains(validation_error(policy), "invalid tag \"has space\""));
  policy.tags = {""};
  CHECK(contains(validation_error(policy), "invalid tag"));
}

TEST_CASE("policy: tags are split on commas, trimmed, sorted and de-duplicated") {
  CHECK(parse_tags("b,a") == std::vector<std::string>{"a", "b"});
  CHECK(parse_tags("a, b ,\tc") == std::vector<std::string>{"a", "b", "c"});
  CHECK(parse_tags("x,x,y,x") == std::vector<std::string>{"x", "y"});
  CHECK(parse_tags("prod") == std::vector<std::string>{"prod"});
  CHECK(parse_tags("team/a:b.c-d_e,Prod,9") == std::vector<std::string>{"9", "Prod", "team/a:b.c-d_e"});
}

TEST_CASE("policy: an empty tag list parses to no tags") { CHECK(parse_tags("").empty()); }

TEST_CASE("policy: tags are case-sensitive") {
  CHECK(parse_tags("Prod,prod") == std::vector<std::string>{"Prod", "prod"});
}

TEST_CASE("policy: empty tags between commas are usage errors") {
  CHECK(contains(tags_error("a,,b"), "invalid tag \"\""));
  CHECK(contains(tags_error("a,"), "invalid tag \"\""));
  CHECK(contains(tags_error("a, "), "invalid tag \"\""));
  CHECK(contains(tags_error(",a"), "invalid tag \"\""));
  CHECK(contains(tags_error(","), "invalid tag \"\""));
  CHECK(contains(tags_error(" "), "invalid tag \"\""));
}

TEST_CASE("policy: tags outside the label alphabet are usage errors naming the tag") {
  CHECK(contains(tags_error("ok,not ok"), "invalid tag \"not ok\""));
  CHECK(contains(tags_error("a;b"), "invalid tag \"a;b\""));
  CHECK(contains(tags_error("ümlaut"), "invalid tag"));
  CHECK(contains(tags_error("a=b"), "invalid tag \"a=b\""));
}

TEST_CASE("policy: tags are at most 63 characters") {
  CHECK(parse_tags(std::string(63, 't')) == std::vector<std::string>{std::string(63, 't')});
  CHECK(contains(tags_error(std::string(64, 't')), "1-63"));
}

TEST_CASE("policy: an empty tag filter matches every policy") {
  Policy policy = delete_policy();
  CHECK(has_all_tags(policy, {}));
  policy.tags = {"a"};
  CHECK(has_all_tags(policy, {}));
}

TEST_CASE("policy: a policy matches a tag filter only when it carries every given tag") {
  Policy policy = delete_policy();
  policy.tags = {"eu", "prod", "team-a"};
  CHECK(has_all_tags(policy, {"prod"}));
  CHECK(has_all_tags(policy, {"eu", "team-a"}));
  CHECK(has_all_tags(policy, {"eu", "prod", "team-a"}));
  CHECK_FALSE(has_all_tags(policy, {"prod", "us"}));
  CHECK_FALSE(has_all_tags(policy, {"Prod"}));
  policy.tags.clear();
  CHECK_FALSE(has_all_tags(policy, {"prod"}));
}

TEST_CASE("policy: tag matching does not depend on the order the tags are stored in") {
  // Rows written by hand (or by an older version) need not keep tags sorted.
  Policy policy = delete_policy();
  policy.tags = {"team-a", "prod", "eu"};
  CHECK(has_all_tags(policy, {"eu"}));
  CHECK(has_all_tags(policy, {"prod", "team-a"}));
  CHECK(has_all_tags(policy, parse_tags("team-a,eu")));
  CHECK_FALSE(has_all_tags(policy, {"us"}));
}

TEST_CASE("policy: ids are 1-128 characters of letters, digits and _ . : / -") {
  CHECK_NOTHROW(validate_policy_id("public.metrics-delete"));
  CHECK_NOTHROW(validate_policy_id("tenant/42:Metrics_v2"));
  CHECK_NOTHROW(validate_policy_id("x"));
  CHECK_NOTHROW(validate_policy_id(std::string(128, 'i')));
  CHECK(contains(id_error(std::string(129, 'i')), "1-128"));
  CHECK(contains(id_error(""), "invalid policy id \"\""));
  CHECK(contains(id_error("has space"), "invalid policy id \"has space\""));
  CHECK(contains(id_error("a\"b"), "invalid policy id"));
  CHECK(contains(id_error("drop;"), "invalid policy id \"drop;\""));
}

TEST_CASE("policy: the default id is schema.table-strategy") {
  CHECK(default_policy_id({"public", "metrics"}, "delete") == "public.metrics-delete");
  CHECK(default_policy_id({"sales", "Events"}, "snapshot") == "sales.Events-snapshot");
}

TEST_CASE("policy: the default id replaces characters outside the id alphabet") {
  CHECK(default_policy_id({"public", "My Table"}, "delete") == "public.My_Table-delete");
  CHECK(default_policy_id({"public", "x; drop table y"}, "delete") == "public.x__drop_table_y-delete");
  CHECK(default_policy_id({"we\"ird", "t"}, "delete") == "we_ird.t-delete");
  CHECK_NOTHROW(validate_policy_id(default_policy_id({"public", "café \"x\""}, "reallocate")));
}

TEST_CASE("policy: the default id of the longest names is still a valid id") {
  const QualifiedName longest{std::string(63, 's'), std::string(63, 't')};
  const auto id = default_policy_id(longest, "reallocate");
  CHECK(id.size() == 128);
  CHECK(id.rfind(std::string(63, 's') + ".", 0) == 0);
  CHECK_NOTHROW(validate_policy_id(id));
}

TEST_CASE("policy: default ids of long names keep the strategy so they stay distinct") {
  const QualifiedName longest{std::string(63, 's'), std::string(63, 't')};
  const auto deleting = default_policy_id(longest, "delete");
  const auto archiving = default_policy_id(longest, "snapshot");
  CHECK(deleting != archiving);
  CHECK(deleting.size() == 128);
  CHECK(deleting.substr(deleting.size() - 7) == "-delete");
  CHECK(archiving.substr(archiving.size() - 9) == "-snapshot");
}

TEST_CASE("policy: json has every documented key in a stable order") {
  Policy policy = snapshot_policy();
  policy.partition_column = "ts";
  policy.tags = {"eu", "prod"};
  policy.schedule = "@daily";
  policy.enabled = false;
  policy.options = {{"max_runtime", "2h"}, {"lock_timeout", "5s"}};
  policy.created_at = "2024-01-02T03:04:05Z";
  policy.updated_at = "2024-02-03T04:05:06Z";

  const auto json = policy_to_json(policy);
  std::vector<std::string> keys;
  for (const auto& item : json.items()) keys.push_back(item.key());
  CHECK(keys == std::vector<std::string>{"id", "table", "strategy", "ttl", "partition_column", "target",
                                         "tags", "schedule", "enabled", "options", "created_at",
                                         "updated_at"});
  CHECK(json.dump() ==
        R"({"id":"public.metrics-snapshot","table":"public.metrics","strategy":"snapshot","ttl":"90d",)"
        R"("partition_column":"ts","target":"cold","tags":["eu","prod"],"schedule":"@daily","enabled":false,)"
        R"("options":{"lock_timeout":"5s","max_runtime":"2h"},"created_at":"2024-01-02T03:04:05Z",)"
        R"("updated_at":"2024-02-03T04:05:06Z"})");
}

TEST_CASE("policy: json values have the documented types") {
  Policy policy = snapshot_policy();
  policy.partition_column = "ts";
  policy.tags = {"prod"};
  policy.schedule = "@hourly";
  policy.options = {{"lock_timeout", "5s"}};
  policy.created_at = "2024-01-02T03:04:05Z";
  policy.updated_at = "2024-01-02T03:04:05Z";
  const auto json = policy_to_json(policy);
  CHECK(json.at("id").is_string());
  CHECK(json.at("table").is_string());
  CHECK(json.at("strategy").is_string());
  CHECK(json.at("ttl").is_string());
  CHECK(json.at("partition_column").is_string());
  CHECK(json.at("target").is_string());
  CHECK(json.at("tags").is_array());
  CHECK(json.at("tags").at(0).is_string());
  CHECK(json.at("schedule").is_string());
  CHECK(json.at("enabled").is_boolean());
  CHECK(json.at("enabled") == true);
  CHECK(json.at("options").is_object());
  CHECK(json.at("options").at("lock_timeout").is_string());
  CHECK(json.at("created_at").is_string());
  CHECK(json.at("updated_at").is_string());
}

TEST_CASE("policy: absent optional fields are json null, empty collections stay collections") {
  const auto json = policy_to_json(delete_policy());
  CHECK(json.size() == 12);
  CHECK(json.at("partition_column").is_null());
  CHECK(json.at("target").is_null());
  CHECK(json.at("schedule").is_null());
  CHECK(json.at("tags").is_array());
  CHECK(json.at("tags").empty());
  CHECK(json.at("options").is_object());
  CHECK(json.at("options").empty());
  CHECK(json.at("enabled") == true);
}

TEST_CASE("policy: json shows the table as people write it and the ttl canonically") {
  Policy policy = delete_policy();
  policy.table = {"Sales", "My Table"};
  policy.ttl = Duration::parse("P1Y6M");
  const auto json = policy_to_json(policy);
  CHECK(json.at("table") == "\"Sales\".\"My Table\"");
  CHECK(QualifiedName::parse(json.at("table").get<std::string>()) == policy.table);
  CHECK(json.at("ttl") == "1y6mo");
  CHECK(Duration::parse(json.at("ttl").get<std::string>()) == policy.ttl);
}

TEST_CASE("policy: json escapes hostile values instead of breaking the document") {
  Policy policy = delete_policy();
  policy.table = {"public", "x\"; drop table y; --"};
  policy.options = {{"batch_size", "1\"}"}};
  const auto text = policy_to_json(policy).dump();
  const auto parsed = nlohmann::json::parse(text);
  CHECK(parsed.at("table") == "public.\"x\"\"; drop table y; --\"");
  CHECK(parsed.at("options").at("batch_size") == "1\"}");
}
