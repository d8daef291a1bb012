#include "retentiond/cli/policy_fields.hpp"

#include <set>

#include "retentiond/core/error.hpp"
#include "retentiond/policy/schedule.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

template <typename T>
po::typed_value<T>* optional_value(std::optional<T>& target, const char* name) {
  // program_options cannot store into std::optional directly; a notifier fills it only when
  // the option was given, so "absent" and "empty" stay distinguishable.
  return po::value<T>()->value_name(name)->notifier([&target](const T& value) { target = value; });
}

std::optional<std::string> empty_clears(const std::string& value) {
  if (value.empty()) return std::nullopt;
  return value;
}

}  // namespace

po::options_description policy_field_options(PolicyFields& fields, bool with_table) {
  po::options_description options("Policy options");
  if (with_table) {
    options.add_options()
        ("table", optional_value(fields.table, "SCHEMA.TABLE"), "data table (quote names with capitals or spaces: 'public.\"My Table\"')")
        ("strategy", optional_value(fields.strategy, "S"), "delete | reallocate | snapshot")
        ("ttl", optional_value(fields.ttl, "DURATION"), "data older than now - ttl is expired: 90d, 1w2d, 6mo, P1Y")
        ("target", optional_value(fields.target, "T"), "reallocate: tablespace; snapshot: repository");
  }
  options.add_options()
      ("id", optional_value(fields.id, "ID"), "policy id (default: SCHEMA.TABLE-STRATEGY)")
      ("partition-column", optional_value(fields.partition_column, "C"), "time column (required for plain tables)")
      ("tags", optional_value(fields.tags, "a,b"), "labels for grouping and selection")
      ("schedule", optional_value(fields.schedule, "S"), "cron (5 fields), @hourly, @daily, @every 15m; empty = default")
      ("option", po::value(&fields.options)->value_name("KEY=VALUE")->composing(), "strategy option, repeatable (batch_size=5000)")
      ("disabled", po::bool_switch(&fields.disabled), "create or set the policy disabled")
      ("enabled", po::bool_switch(&fields.enabled), "set the policy enabled");
  return options;
}

Policy apply_policy_fields(Policy policy, const PolicyFields& fields) {
  if (fields.enabled && fields.disabled) throw usage_error("--enabled and --disabled contradict each other");
  if (fields.id) policy.id = *fields.id;
  if (fields.table) policy.table = QualifiedName::parse(*fields.table);
  if (fields.strategy) policy.strategy = *fields.strategy;
  if (fields.ttl) {
    policy.ttl = parse_ttl(*fields.ttl);
    policy.raw_ttl = std::nullopt;
  }
  if (fields.partition_column) {
    policy.partition_column = fields.partition_column->empty()
                                  ? std::nullopt
                                  : std::optional(parse_identifier(*fields.partition_column, "column name"));
  }
  if (fields.target) policy.target = empty_clears(*fields.target);
  if (fields.tags) policy.tags = fields.tags->empty() ? std::vector<std::string>{} : parse_tags(*fields.tags);
  if (fields.schedule) {
    policy.schedule = empty_clears(*fields.schedule);
    if (policy.schedule) policy.schedule = Schedule::parse(*policy.schedule).text();
  }
  std::set<std::string> given;
  if (!fields.options.empty() && policy.raw_options) {
    // Stored options that are not an object hold no key to edit: the given ones replace them.
    policy.raw_options = std::nullopt;
    policy.options.clear();
  }
  for (const auto& option : fields.options) {
    auto equals = option.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw usage_error("invalid option " + quote_input(option) + ": expected KEY=VALUE");
    }
    std::string key = option.substr(0, equals);
    std::string value = option.substr(equals + 1);
    // Keeping the last of two values silently would hide a typo; the user says which one.
    if (!given.insert(key).second) throw usage_error("option " + quote_input(key) + " is given more than once");
    if (value.empty()) {
      policy.options.erase(key);
    } else {
      policy.options[key] = value;
    }
  }
  normalize_options(policy);
  if (fields.disabled) policy.enabled = false;
  if (fields.enabled) policy.enabled = true;
  return policy;
}

}  // namespace retentiond
