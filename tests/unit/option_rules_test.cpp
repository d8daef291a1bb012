#include <string>

#include <doctest/doctest.h>

#include "retentiond/cli/policy_fields.hpp"
#include "retentiond/config/config.hpp"
#include "retentiond/core/error.hpp"
#include "retentiond/core/text.hpp"
#include "retentiond/strategy/strategy.hpp"

using retentiond::apply_policy_fields;
using retentiond::Policy;
using retentiond::PolicyFields;

namespace {

std::string apply_error(const PolicyFields& fields) {
  Policy policy;
  policy.id = "p";
  policy.table = {"public", "events"};
  policy.strategy = "delete";
  try {
    (void)apply_policy_fields(policy, fields);
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  return "";
}

}  // namespace

TEST_CASE("option rules: a repeated --option key is a usage error naming the key") {
  for (const auto& pair : {std::pair{"batch_size=5", "batch_size=6"}, std::pair{"lock_timeout=5s", "lock_timeout=5s"},
                           std::pair{"max_runtime=1h", "max_runtime="}}) {
    PolicyFields fields;
    fields.options = {pair.first, "other=1", pair.second};
    const std::string error = apply_error(fields);
    const std::string key = std::string(pair.first).substr(0, std::string(pair.first).find('='));
    CHECK_MESSAGE(error.find("\"" + key + "\"") != std::string::npos, error);
    CHECK(error.find("more than once") != std::string::npos);
  }
}

TEST_CASE("option rules: distinct --option keys are all applied") {
  PolicyFields fields;
  fields.options = {"batch_size=5", "lock_timeout=5s"};
  Policy policy;
  const Policy applied = apply_policy_fields(policy, fields);
  CHECK(applied.options.at("batch_size") == "5");
  CHECK(applied.options.at("lock_timeout") == "5s");
}

namespace {

Policy delete_policy(std::map<std::string, std::string> options) {
  Policy policy;
  policy.id = "p";
  policy.table = {"public", "events"};
  policy.strategy = "delete";
  policy.ttl = retentiond::Duration::parse("30d");
  policy.options = std::move(options);
  return policy;
}

std::string error_of(auto action) {
  try {
    action();
  } catch (const retentiond::Error& e) {
    CHECK(e.code() == retentiond::ExitCode::usage);
    return e.what();
  }
  return "";
}

bool config_boolean(const std::string& word) {
  retentiond::ConfigSources sources;
  sources.default_file = "/nonexistent/retentiond.yaml";
  sources.environment = {{"RETENTIOND_HA_ENABLED", word}};
  return retentiond::load_config(sources).ha.enabled;
}

}  // namespace

TEST_CASE("option rules: option and config booleans take the same words, in any case") {
  const auto& spec = *retentiond::find_strategy("delete");
  for (const auto& [word, meaning] : {std::pair{"true", true}, std::pair{"false", false}, std::pair{"yes", true},
                                      std::pair{"no", false}, std::pair{"on", true}, std::pair{"off", false},
                                      std::pair{"1", true}, std::pair{"0", false}, std::pair{"TRUE", true},
                                      std::pair{"Yes", true}, std::pair{"OFF", false}}) {
    CAPTURE(word);
    CHECK(retentiond::parse_boolean_word(word) == meaning);
    CHECK(config_boolean(word) == meaning);
    CHECK_NOTHROW(retentiond::validate_option(spec, "detach", word));
    CHECK(retentiond::canonical_option_value(spec, "detach", word) == (meaning ? "true" : "false"));
  }
  for (const char* word : {"", "t", "y", "2", "enabled", " yes"}) {
    CAPTURE(word);
    CHECK(!retentiond::parse_boolean_word(word));
    CHECK(!error_of([&] { retentiond::validate_option(spec, "detach", word); }).empty());
    if (std::string(word).find(' ') == std::string::npos && *word != '\0') {
      CHECK(!error_of([&] { (void)config_boolean(word); }).empty());
    }
  }
}

TEST_CASE("option rules: boolean options are stored as true or false whatever the spelling") {
  PolicyFields fields;
  fields.options = {"detach=yes", "keep_table=OFF", "partitions_per_transaction=7"};
  const Policy applied = apply_policy_fields(delete_policy({}), fields);
  CHECK(applied.options.at("detach") == "true");
  CHECK(applied.options.at("keep_table") == "false");
  CHECK(applied.options.at("partitions_per_transaction") == "7");
}

TEST_CASE("option rules: an option that implies another refuses that other set false") {
  for (const auto& [key, value] : {std::pair{"keep_table", "true"}, std::pair{"detach_concurrently", "yes"},
                                   std::pair{"keep_table", "1"}}) {
    CAPTURE(key);
    const std::string error =
        error_of([&] { retentiond::validate_policy(delete_policy({{key, value}, {"detach", "false"}})); });
    CHECK_MESSAGE(error.find(std::string(key) + "=true implies detach=true") != std::string::npos, error);
    CHECK(error.find("detach=false") != std::string::npos);
  }
  for (const auto& options : {std::map<std::string, std::string>{{"keep_table", "false"}, {"detach", "false"}},
                              std::map<std::string, std::string>{{"keep_table", "true"}, {"detach", "true"}},
                              std::map<std::string, std::string>{{"keep_table", "true"}},
                              std::map<std::string, std::string>{{"detach_concurrently", "true"}, {"keep_table", "true"}}}) {
    CHECK_NOTHROW(retentiond::validate_policy(delete_policy(options)));
  }
}

TEST_CASE("option rules: an option for the other kind of table is refused naming it, the table and the way out") {
  for (const char* key : {"partitions_per_transaction", "detach", "detach_concurrently", "keep_table"}) {
    CAPTURE(key);
    const std::string error =
        error_of([&] { retentiond::check_options_for_table(delete_policy({{key, "1"}}), /*partitioned=*/false); });
    CHECK_MESSAGE(error == "option \"" + std::string(key) +
                               "\" applies to partitioned tables only; public.events is a plain table: leave it out "
                               "(in policy edit, --option " + key + "= removes it)",
                  error);
    CHECK_NOTHROW(retentiond::check_options_for_table(delete_policy({{key, "1"}}), /*partitioned=*/true));
  }
  const std::string error =
      error_of([&] { retentiond::check_options_for_table(delete_policy({{"batch_size", "5"}}), true); });
  CHECK_MESSAGE(error.find("option \"batch_size\" applies to plain tables only; public.events is partitioned") == 0,
                error);
  CHECK_NOTHROW(retentiond::check_options_for_table(delete_policy({{"batch_size", "5"}}), false));
  for (const char* key : {"lock_timeout", "max_runtime"}) {
    for (const bool partitioned : {true, false}) {
      CHECK_NOTHROW(retentiond::check_options_for_table(delete_policy({{key, "5s"}}), partitioned));
    }
  }
}
