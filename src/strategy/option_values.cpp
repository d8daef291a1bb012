#include "retentiond/strategy/option_values.hpp"

#include <charconv>

#include "retentiond/core/error.hpp"
#include "retentiond/core/text.hpp"

namespace retentiond {
namespace {

const std::string* find(const Policy& policy, std::string_view key) {
  auto it = policy.options.find(std::string(key));
  return it == policy.options.end() ? nullptr : &it->second;
}

Error bad(const Policy& policy, std::string_view key, const std::string& value) {
  return usage_error("policy \"" + policy.id + "\": invalid value \"" + value + "\" for option " +
                     std::string(key));
}

}  // namespace

std::int64_t option_integer(const Policy& policy, std::string_view key, std::int64_t fallback) {
  const std::string* value = find(policy, key);
  if (value == nullptr) return fallback;
  std::int64_t out = 0;
  auto [end, error] = std::from_chars(value->data(), value->data() + value->size(), out);
  if (error != std::errc() || end != value->data() + value->size() || out < 1) throw bad(policy, key, *value);
  return out;
}

bool option_bool(const Policy& policy, std::string_view key) {
  const std::string* value = find(policy, key);
  if (value == nullptr) return false;
  // The words validate_option accepts: a row written before values were stored as true/false,
  // or by hand, reads as its author meant it.
  if (const auto flag = parse_boolean_word(*value)) return *flag;
  throw bad(policy, key, *value);
}

std::chrono::milliseconds option_duration(const Policy& policy, std::string_view key,
                                          std::chrono::milliseconds fallback) {
  const std::string* value = find(policy, key);
  if (value == nullptr) return fallback;
  Duration duration;
  try {
    duration = Duration::parse(*value);
  } catch (const Error&) {
    throw bad(policy, key, *value);
  }
  // The same bounds validate_option sets when a policy is written: a calendar part has no
  // length in milliseconds (it would read as 0, "no timeout"), and past 24 days the value no
  // longer fits PostgreSQL's int timeouts.
  constexpr std::chrono::seconds longest{24 * 86'400};
  if (!duration.is_exact() || duration.seconds() > longest) throw bad(policy, key, *value);
  return std::chrono::duration_cast<std::chrono::milliseconds>(duration.seconds());
}

}  // namespace retentiond
