#include <unistd.h>

#include "config_internal.hpp"

namespace retentiond::config_internal {
namespace {

std::optional<KeyMatch> match_environment(const std::string& variable) {
  for (const ConfigKey& key : config_keys()) {
    std::string pattern = environment_name(key.name);
    std::size_t at = pattern.find(kInstanceSegment);
    if (at == std::string::npos) {
      if (pattern == variable) return KeyMatch{&key, ""};
      continue;
    }
    std::string_view head = std::string_view{pattern}.substr(0, at);
    std::string_view tail = std::string_view{pattern}.substr(at + kInstanceSegment.size());
    std::string_view var = variable;
    if (var.size() > head.size() + tail.size() && var.starts_with(head) && var.ends_with(tail)) {
      std::string_view upper = var.substr(head.size(), var.size() - head.size() - tail.size());
      std::string name;
      for (char c : upper) {
        // Upper-case in the environment (as every variable name), lower-case as a key, so a
        // lower-case letter in the variable can't be a second spelling of the same repository.
        if (c >= 'a' && c <= 'z') return std::nullopt;
        name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      }
      return KeyMatch{&key, name};
    }
  }
  return std::nullopt;
}

}  // namespace

void apply_environment(Resolver& resolver, const ConfigSources& sources) {
  constexpr std::string_view kPrefix = "RETENTIOND_";
  for (const auto& [variable, value] : sources.environment) {
    if (!variable.starts_with(kPrefix) || variable == kConfigFileVariable) continue;
    Origin origin{"environment " + variable, "env " + variable};
    auto match = match_environment(variable);
    if (!match) {
      // A mistyped variable silently ignored is the worst kind of 3 a.m. bug: refuse it.
      std::string message = origin.location + ": unknown variable; RETENTIOND_* variables must name a " +
                            "configuration key or be " + std::string(kConfigFileVariable);
      if (std::string suggestion = suggest_environment_name(variable); !suggestion.empty()) {
        message += " (did you mean " + suggestion + "?)";
      }
      throw usage_error(message);
    }
    // Set but empty counts as set: it is how a value from the file is cleared (database.url).
    resolver.apply(*match, value, origin);
  }
}

}  // namespace retentiond::config_internal

namespace retentiond {

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text = *entry;
    std::size_t eq = text.find('=');
    if (eq == std::string_view::npos || !text.starts_with("RETENTIOND_")) continue;
    out.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return out;
}

}  // namespace retentiond
