#include "retentiond/cli/policy_output.hpp"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "retentiond/core/escape.hpp"

namespace retentiond {
namespace {

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

std::string options_text(const Policy& policy) {
  if (policy.raw_options) return *policy.raw_options;
  if (policy.options.empty()) return "-";
  std::vector<std::string> pairs;
  for (const auto& [key, value] : policy.options) pairs.push_back(key + "=" + value);
  return join(pairs, ",");
}

std::string or_dash(const std::optional<std::string>& value) { return value ? *value : "-"; }

std::string compact_line(const Policy& policy) {
  std::vector<std::pair<std::string, std::string>> fields = {
      {"id", policy.id},
      {"table", policy.table.display()},
      {"strategy", policy.strategy},
      {"ttl", ttl_text(policy)},
      {"partition_column", or_dash(policy.partition_column)},
      {"target", or_dash(policy.target)},
      {"tags", policy.tags.empty() ? "-" : join(policy.tags, ",")},
      {"schedule", or_dash(policy.schedule)},
      {"enabled", policy.enabled ? "true" : "false"},
      {"options", options_text(policy)},
  };
  if (policy.invalid_reason) fields.emplace_back("error", *policy.invalid_reason);
  std::string line;
  for (const auto& [key, value] : fields) line += (line.empty() ? "" : " ") + key + "=" + compact_value(value);
  return line + "\n";
}

}  // namespace

void print_policies(std::ostream& out, const std::vector<Policy>& policies, OutputFormat format) {
  switch (format) {
    case OutputFormat::json: {
      auto array = nlohmann::ordered_json::array();
      for (const auto& policy : policies) array.push_back(policy_to_json(policy));
      out << array.dump(2) << "\n";
      return;
    }
    case OutputFormat::compact:
      for (const auto& policy : policies) out << compact_line(policy);
      return;
    case OutputFormat::table: {
      const bool any_invalid =
          std::any_of(policies.begin(), policies.end(), [](const Policy& p) { return p.invalid_reason.has_value(); });
      std::vector<std::vector<std::string>> rows;
      for (const auto& p : policies) {
        rows.push_back({p.id, p.table.display(), p.strategy, ttl_text(p), or_dash(p.target),
                        p.schedule ? *p.schedule : "(default)", p.tags.empty() ? "-" : join(p.tags, ","),
                        p.enabled ? "yes" : "no"});
        if (any_invalid) rows.back().push_back(p.invalid_reason ? "invalid: " + *p.invalid_reason : "-");
      }
      std::vector<std::string> headers = {"id", "table", "strategy", "ttl", "target", "schedule", "tags", "enabled"};
      if (any_invalid) headers.emplace_back("error");
      out << render_table(headers, rows);
      return;
    }
  }
}

void print_policy(std::ostream& out, const Policy& policy, OutputFormat format) {
  switch (format) {
    case OutputFormat::json:
      out << policy_to_json(policy).dump(2) << "\n";
      return;
    case OutputFormat::compact:
      out << compact_line(policy);
      return;
    case OutputFormat::table: {
      std::vector<std::pair<std::string, std::string>> fields = {
          {"id", policy.id},
          {"table", policy.table.display()},
          {"strategy", policy.strategy},
          {"ttl", ttl_text(policy)},
          {"partition column", policy.partition_column ? *policy.partition_column : "(from the partition key)"},
          {"target", or_dash(policy.target)},
          {"tags", policy.tags.empty() ? "-" : join(policy.tags, ", ")},
          {"schedule", policy.schedule ? *policy.schedule : "(default)"},
          {"enabled", policy.enabled ? "yes" : "no"},
          {"options", options_text(policy)},
          {"created at", policy.created_at},
          {"updated at", policy.updated_at},
      };
      if (policy.invalid_reason) fields.emplace_back("error", "invalid: " + *policy.invalid_reason);
      for (const auto& [name, value] : fields) {
        out << name << ":" << std::string(18 - name.size(), ' ') << escape_control(value) << "\n";
      }
      return;
    }
  }
}

}  // namespace retentiond
