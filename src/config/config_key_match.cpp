#include <vector>

#include "config_internal.hpp"

namespace retentiond::config_internal {
namespace {

std::vector<std::string> split_dots(std::string_view name) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = name.find('.', start);
    segments.emplace_back(name.substr(start, dot - start));
    if (dot == std::string_view::npos) return segments;
    start = dot + 1;
  }
}

// Compares the first `count` segments of `name` with the key's pattern; `<NAME>` matches any one
// segment, which is returned through `instance`.
bool prefix_matches(const ConfigKey& key, const std::vector<std::string>& name, std::size_t count,
                    std::string& instance) {
  std::vector<std::string> pattern = split_dots(key.name);
  if (count > pattern.size() || count > name.size()) return false;
  for (std::size_t i = 0; i < count; ++i) {
    if (pattern[i] == kInstanceSegment) {
      instance = name[i];
    } else if (pattern[i] != name[i]) {
      return false;
    }
  }
  return true;
}

}  // namespace

std::optional<KeyMatch> match_key(std::string_view name) {
  std::vector<std::string> segments = split_dots(name);
  for (const ConfigKey& key : config_keys()) {
    std::string instance;
    if (split_dots(key.name).size() == segments.size() &&
        prefix_matches(key, segments, segments.size(), instance)) {
      return KeyMatch{&key, instance};
    }
  }
  return std::nullopt;
}

bool is_section(std::string_view name, std::string& instance) {
  std::vector<std::string> segments = split_dots(name);
  for (const ConfigKey& key : config_keys()) {
    if (split_dots(key.name).size() > segments.size() &&
        prefix_matches(key, segments, segments.size(), instance)) {
      return true;
    }
  }
  return false;
}

std::string unknown_key_message(std::string_view name) {
  std::string message = "unknown key " + in_quotes(name);
  if (std::string suggestion = suggest_key(name); !suggestion.empty()) {
    message += " (did you mean " + in_quotes(suggestion) + "?)";
  }
  return message;
}

std::string invalid_instance_message(std::string_view name) {
  return "snapshot repository name " + in_quotes(name) + " must match [a-z0-9_-]+";
}

}  // namespace retentiond::config_internal
