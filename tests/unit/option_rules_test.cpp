#include <string>

#include <doctest/doctest.h>

#include "retentiond/cli/policy_fields.hpp"
#include "retentiond/core/error.hpp"

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
