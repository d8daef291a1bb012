#include "retentiond/cli/policy_fields.hpp"

#include <map>
#include <string>
#include <vector>

#include <boost/program_options.hpp>
#include <doctest/doctest.h>

#include "retentiond/core/error.hpp"

using retentiond::apply_policy_fields;
using retentiond::Duration;
using retentiond::Policy;
using retentiond::PolicyFields;
using retentiond::QualifiedName;

namespace po = boost::program_options;

namespace {

Policy existing_policy() {
  Policy policy;
  policy.id = "public.metrics-snapshot";
  policy.table = {"public", "metrics"};
  policy.strategy = "snapshot";
  policy.ttl = Duration::parse("90d");
  policy.partition_column = "ts";
  policy.target = "cold";
  policy.tags = {"eu", "prod"};
  policy.schedule = "@daily";
  policy.enabled = true;
  policy.options = {{"lock_timeout", "5s"}, {"max_runtime", "2h"}};
  policy.created_at = "2024-01-02T03:04:05Z";
  policy.updated_at = "2024-01-02T03:04:05Z";
  return policy;
}

std::string apply_error(const PolicyFields& fields, const Policy& policy = existing_policy()) {
  try {
    (void)apply_policy_fields(policy, fields);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  FAIL("no usage error");
  return {};
}

PolicyFields with_options(std::vector<std::string> options) {
  PolicyFields fields;
  fields.options = std::move(options);
  return fields;
}

// Parses a command line the way the policy commands do, into fresh fields.
PolicyFields parse_command_line(const std::vector<std::string>& args, bool with_table) {
  PolicyFields fields;
  const auto options = retentiond::policy_field_options(fields, with_table);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(options).run(), vm);
  po::notify(vm);
  return fields;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("policy fields: no fields leave the policy unchanged") {
  CHECK(apply_policy_fields(existing_policy(), PolicyFields{}) == existing_policy());
}

TEST_CASE("policy fields: given fields replace the current values") {
  PolicyFields fields;
  fields.id = "metrics-archive";
  fields.table = "Sales.\"Events\"";
  fields.strategy = "reallocate";
  fields.ttl = "P1Y6M";
  fields.target = "slow_disk";
  const Policy policy = apply_policy_fields(existing_policy(), fields);
  CHECK(policy.id == "metrics-archive");
  CHECK(policy.table == QualifiedName{"sales", "Events"});
  CHECK(policy.strategy == "reallocate");
  CHECK(policy.ttl == Duration(18, std::chrono::seconds(0)));
  CHECK(policy.target == "slow_disk");
  // Everything else is kept.
  CHECK(policy.partition_column == "ts");
  CHECK(policy.tags == std::vector<std::string>{"eu", "prod"});
  CHECK(policy.schedule == "@daily");
  CHECK(policy.options == existing_policy().options);
  CHECK(policy.created_at == existing_policy().created_at);
}

TEST_CASE("policy fields: a bad table or ttl is a usage error naming the value") {
  PolicyFields fields;
  fields.table = "a.b.c";
  CHECK(contains(apply_error(fields), "\"a.b.c\""));
  fields = {};
  fields.table = "";
  CHECK(contains(apply_error(fields), "invalid table name"));
  fields = {};
  fields.ttl = "90x";
  CHECK(contains(apply_error(fields), "\"90x\""));
  fields = {};
  fields.ttl = "";
  CHECK(contains(apply_error(fields), "invalid duration"));
}

TEST_CASE("policy fields: the partition column is parsed as an identifier") {
  PolicyFields fields;
  fields.partition_column = "CreatedAt";
  CHECK(apply_policy_fields(existing_policy(), fields).partition_column == "createdat");
  fields.partition_column = "\"CreatedAt\"";
  CHECK(apply_policy_fields(existing_policy(), fields).partition_column == "CreatedAt");
  fields.partition_column = "\"created at\"";
  CHECK(apply_policy_fields(existing_policy(), fields).partition_column == "created at");
}

TEST_CASE("policy fields: a bad partition column is a usage error naming it") {
  PolicyFields fields;
  fields.partition_column = "created at";
  const auto message = apply_error(fields);
  CHECK(contains(message, "invalid column name \"created at\""));
  fields.partition_column = "t.ts";
  CHECK(contains(apply_error(fields), "\"t.ts\""));
  fields.partition_column = "\"ts";
  CHECK(contains(apply_error(fields), "unterminated"));
}

TEST_CASE("policy fields: empty values clear the optional fields") {
  PolicyFields fields;
  fields.partition_column = "";
  fields.target = "";
  fields.tags = "";
  fields.schedule = "";
  const Policy policy = apply_policy_fields(existing_policy(), fields);
  CHECK_FALSE(policy.partition_column.has_value());
  CHECK_FALSE(policy.target.has_value());
  CHECK(policy.tags.empty());
  CHECK_FALSE(policy.schedule.has_value());
}

TEST_CASE("policy fields: tags are parsed, sorted and de-duplicated") {
  PolicyFields fields;
  fields.tags = "team-b, eu,team-b";
  CHECK(apply_policy_fields(existing_policy(), fields).tags == std::vector<std::string>{"eu", "team-b"});
  fields.tags = "a,,b";
  CHECK(contains(apply_error(fields), "invalid tag"));
  fields.tags = "not ok";
  CHECK(contains(apply_error(fields), "\"not ok\""));
}

TEST_CASE("policy fields: the schedule is checked and stored trimmed") {
  PolicyFields fields;
  fields.schedule = "  @every 15m  ";
  CHECK(apply_policy_fields(existing_policy(), fields).schedule == "@every 15m");
  fields.schedule = "*/5 * * * *";
  CHECK(apply_policy_fields(existing_policy(), fields).schedule == "*/5 * * * *");
  fields.schedule = "61 * * * *";
  CHECK(contains(apply_error(fields), "61 * * * *"));
  fields.schedule = "@fortnightly";
  CHECK(contains(apply_error(fields), "@fortnightly"));
}

TEST_CASE("policy fields: --option KEY=VALUE sets an option and keeps the others") {
  const Policy policy =
      apply_policy_fields(existing_policy(), with_options({"batch_size=5000", "lock_timeout=10s"}));
  CHECK(policy.options == std::map<std::string, std::string>{
                              {"batch_size", "5000"}, {"lock_timeout", "10s"}, {"max_runtime", "2h"}});
}

TEST_CASE("policy fields: --option KEY= removes the option") {
  const Policy policy = apply_policy_fields(existing_policy(), with_options({"lock_timeout="}));
  CHECK(policy.options == std::map<std::string, std::string>{{"max_runtime", "2h"}});
  // Removing an option that is not set is not an error.
  CHECK(apply_policy_fields(existing_policy(), with_options({"batch_size="})).options ==
        existing_policy().options);
}

TEST_CASE("policy fields: an empty value removes an option and a value may contain =") {
  CHECK(apply_policy_fields(Policy{}, with_options({"a="})).options.empty());
  CHECK(apply_policy_fields(Policy{}, with_options({"a=x=y"})).options.at("a") == "x=y");
}

TEST_CASE("policy fields: an option without KEY= is a usage error naming it") {
  CHECK(apply_error(with_options({"batch_size"})) == "invalid option \"batch_size\": expected KEY=VALUE");
  CHECK(contains(apply_error(with_options({"=5"})), "invalid option \"=5\""));
  CHECK(contains(apply_error(with_options({""})), "invalid option \"\""));
  CHECK(contains(apply_error(with_options({"="})), "invalid option \"=\""));
}

TEST_CASE("policy fields: --enabled and --disabled together are a usage error") {
  PolicyFields fields;
  fields.enabled = true;
  fields.disabled = true;
  CHECK(contains(apply_error(fields), "--enabled and --disabled"));
}

TEST_CASE("policy fields: --disabled and --enabled set the flag, neither keeps it") {
  PolicyFields fields;
  fields.disabled = true;
  CHECK_FALSE(apply_policy_fields(existing_policy(), fields).enabled);
  Policy disabled = existing_policy();
  disabled.enabled = false;
  fields = {};
  fields.enabled = true;
  CHECK(apply_policy_fields(disabled, fields).enabled);
  CHECK_FALSE(apply_policy_fields(disabled, PolicyFields{}).enabled);
  CHECK(apply_policy_fields(existing_policy(), PolicyFields{}).enabled);
}

TEST_CASE("policy fields: the command line tells an empty value from an absent one") {
  const auto fields = parse_command_line({"--schedule", "", "--target", "", "--tags", "a,b"}, true);
  CHECK(fields.schedule == std::string());
  CHECK(fields.target == std::string());
  CHECK(fields.tags == "a,b");
  CHECK_FALSE(fields.partition_column.has_value());
  CHECK_FALSE(fields.id.has_value());
  CHECK_FALSE(fields.table.has_value());
  CHECK_FALSE(fields.enabled);
  CHECK_FALSE(fields.disabled);
}

TEST_CASE("policy fields: the command line collects every --option and the switches") {
  const auto fields = parse_command_line(
      {"--table", "public.\"My Table\"", "--strategy", "delete", "--ttl", "30d", "--option", "batch_size=10",
       "--option=detach=true", "--disabled", "--partition-column", "ts", "--id", "x"},
      true);
  CHECK(fields.table == "public.\"My Table\"");
  CHECK(fields.strategy == "delete");
  CHECK(fields.ttl == "30d");
  CHECK(fields.options == std::vector<std::string>{"batch_size=10", "detach=true"});
  CHECK(fields.disabled);
  CHECK_FALSE(fields.enabled);
  CHECK(fields.partition_column == "ts");
  CHECK(fields.id == "x");

  const Policy policy = apply_policy_fields(Policy{}, fields);
  CHECK(policy.table == QualifiedName{"public", "My Table"});
  CHECK(policy.options == std::map<std::string, std::string>{{"batch_size", "10"}, {"detach", "true"}});
  CHECK_FALSE(policy.enabled);
}

TEST_CASE("policy fields: without the table options, --table, --strategy, --ttl and --target are unknown") {
  for (const char* option : {"--table", "--strategy", "--ttl", "--target"}) {
    CAPTURE(option);
    CHECK_THROWS_AS(parse_command_line({option, "x"}, false), po::error);
  }
  CHECK(parse_command_line({"--tags", "a"}, false).tags == "a");
}
