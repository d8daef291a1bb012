#include "retentiond/policy/policy.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "retentiond/core/error.hpp"
#include "retentiond/core/time.hpp"
#include "retentiond/policy/schedule.hpp"
#include "retentiond/strategy/strategy.hpp"

namespace retentiond {
namespace {

bool is_label_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == ':' || c == '/' || c == '-';
}

bool is_label(std::string_view text, std::size_t max_size) {
  return !text.empty() && text.size() <= max_size && std::all_of(text.begin(), text.end(), is_label_char);
}

std::string_view trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t')) text.remove_suffix(1);
  return text;
}

constexpr std::int64_t kMeanMonthSeconds = 2'629'746;  // 365.2425 days / 12, as Duration counts

bool within_max_ttl(const Duration& ttl) {
  return ttl.months() * kMeanMonthSeconds + ttl.seconds().count() <= kMaxTtlYears * 12 * kMeanMonthSeconds;
}

std::string too_long(std::string_view text) {
  return "invalid ttl " + quote_input(text) + ": it is longer than " + std::to_string(kMaxTtlYears) +
         "y, the longest ttl (its cutoff must fall after the year 1)";
}

}  // namespace

Duration parse_ttl(std::string_view text) {
  const Duration ttl = Duration::parse(text);
  if (!within_max_ttl(ttl)) throw usage_error(too_long(text));
  return ttl;
}

std::optional<std::string> cutoff_problem(const Duration& ttl, std::chrono::sys_seconds now) {
  const auto cutoff = ttl.before(now);
  if (cutoff >= kEarliestCutoff) return std::nullopt;
  return "the cutoff " + format_instant(cutoff) + " (" + format_instant(now) + " - ttl " + ttl.to_string() +
         ") lies before " + format_instant(kEarliestCutoff) + ", which no database compares; give a shorter ttl";
}

void validate_policy_id(std::string_view id) {
  if (!is_label(id, 128)) {
    throw usage_error("invalid policy id " + quote_input(id) + ": use 1-128 letters, digits and _ . : / - characters");
  }
}

std::vector<std::string> parse_tags(std::string_view csv) {
  std::vector<std::string> tags;
  while (!csv.empty()) {
    auto comma = csv.find(',');
    std::string_view tag = trim(csv.substr(0, comma));
    if (!is_label(tag, 63)) {
      throw usage_error("invalid tag " + quote_input(tag) + ": use 1-63 letters, digits and _ . : / - characters");
    }
    tags.emplace_back(tag);
    if (comma == std::string_view::npos) break;
    csv.remove_prefix(comma + 1);
    if (trim(csv).empty()) throw usage_error("invalid tag \"\": use 1-63 letters, digits and _ . : / - characters");
  }
  std::sort(tags.begin(), tags.end());
  tags.erase(std::unique(tags.begin(), tags.end()), tags.end());
  return tags;
}

std::vector<std::string> parse_tag_selector(std::string_view csv) {
  if (trim(csv).empty()) {
    throw usage_error("invalid --tags " + quote_input(csv) + ": give at least one tag (a,b selects the policies carrying both)");
  }
  try {
    return parse_tags(csv);
  } catch (const Error& e) {
    throw usage_error("invalid --tags " + quote_input(csv) + ": " + e.what());
  }
}

bool has_all_tags(const Policy& policy, const std::vector<std::string>& wanted) {
  // A linear search, not binary_search: tags read from a policy row are in whatever order the
  // row holds them (rows may be written by hand), and a policy has only a few.
  return std::all_of(wanted.begin(), wanted.end(), [&](const std::string& tag) {
    return std::find(policy.tags.begin(), policy.tags.end(), tag) != policy.tags.end();
  });
}

std::string default_policy_id(const QualifiedName& table, std::string_view strategy) {
  // Long names are shortened in the table part: the strategy suffix is what keeps the ids of
  // two policies on one table apart.
  const std::string suffix = "-" + std::string(strategy);
  std::string id = table.schema + "." + table.name;
  if (id.size() + suffix.size() > 128) id.resize(128 - std::min<std::size_t>(suffix.size(), 128));
  id += suffix;
  std::replace_if(id.begin(), id.end(), [](char c) { return !is_label_char(c); }, '_');
  return id.substr(0, 128);
}

void validate_policy(const Policy& policy) {
  validate_policy_id(policy.id);
  const StrategySpec* strategy = find_strategy(policy.strategy);
  if (strategy == nullptr) {
    throw usage_error("unknown strategy " + quote_input(policy.strategy) + ": expected one of " + strategy_names());
  }
  if (strategy->requires_target() && (!policy.target || policy.target->empty())) {
    throw usage_error("strategy " + policy.strategy + " needs a target (" + std::string(strategy->target_meaning) +
                      "), e.g. " + policy.strategy + ":NAME");
  }
  if (!strategy->requires_target() && policy.target) {
    throw usage_error("strategy " + policy.strategy + " takes no target, got " + quote_input(*policy.target));
  }
  if (policy.raw_ttl) throw usage_error("invalid ttl " + quote_input(*policy.raw_ttl) + ": give a valid --ttl");
  if (policy.raw_options) {
    throw usage_error("invalid options " + quote_input(*policy.raw_options) +
                      ": not a JSON object; give --option KEY=VALUE to replace them");
  }
  if (policy.ttl.is_zero()) throw usage_error("invalid duration \"0s\": a ttl must be positive");
  if (!within_max_ttl(policy.ttl)) throw usage_error(too_long(policy.ttl.to_string()));
  if (policy.schedule) (void)Schedule::parse(*policy.schedule);
  for (const auto& [key, value] : policy.options) validate_option(*strategy, key, value);
  validate_option_combination(*strategy, policy.options);
  for (const auto& tag : policy.tags) {
    if (!is_label(tag, 63)) throw usage_error("invalid tag " + quote_input(tag));
  }
}

nlohmann::ordered_json policy_to_json(const Policy& policy) {
  auto optional = [](const std::optional<std::string>& value) -> nlohmann::ordered_json {
    return value ? nlohmann::ordered_json(*value) : nlohmann::ordered_json(nullptr);
  };
  nlohmann::ordered_json json{
      {"id", policy.id},
      {"table", policy.table.display()},
      {"strategy", policy.strategy},
      {"ttl", ttl_text(policy)},
      {"partition_column", optional(policy.partition_column)},
      {"target", optional(policy.target)},
      {"tags", policy.tags},
      {"schedule", optional(policy.schedule)},
      {"enabled", policy.enabled},
      {"options", policy.raw_options ? nlohmann::ordered_json::parse(*policy.raw_options, nullptr, false)
                                     : nlohmann::ordered_json(policy.options)},
      {"created_at", policy.created_at},
      {"updated_at", policy.updated_at},
  };
  if (policy.invalid_reason) json["error"] = *policy.invalid_reason;
  return json;
}

void normalize_options(Policy& policy) {
  const StrategySpec* strategy = find_strategy(policy.strategy);
  if (strategy == nullptr) return;
  for (auto& [key, value] : policy.options) value = canonical_option_value(*strategy, key, value);
}

void check_options_for_table(const Policy& policy, bool partitioned) {
  const StrategySpec* strategy = find_strategy(policy.strategy);
  if (strategy == nullptr) return;
  for (const auto& [key, value] : policy.options) {
    if (auto problem = option_table_problem(*strategy, key, partitioned)) {
      throw usage_error(*problem + "; " + policy.table.display() + (partitioned ? " is partitioned" : " is a plain table") +
                        ": leave it out (in policy edit, --option " + key + "= removes it)");
    }
  }
}

std::string ttl_text(const Policy& policy) { return policy.raw_ttl ? *policy.raw_ttl : policy.ttl.to_string(); }

}  // namespace retentiond
