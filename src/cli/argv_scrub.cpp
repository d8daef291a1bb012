#include "retentiond/cli/argv_scrub.hpp"

#include <cstring>
#include <string_view>

#include "retentiond/config/config.hpp"

namespace retentiond {
namespace {

constexpr std::string_view kOption = "--database-url";

// The bytes between the first and the last place where redact_url() changed the value are the
// secret (or secrets: a URI may hold one in its user info and one in `?password=`); hiding a
// little too much of a two-password URL is the lesser evil.
void scrub_value(char* value) {
  const std::string original(value);
  const std::string redacted = redact_url(original);
  if (redacted == original) return;
  std::size_t prefix = 0;
  while (prefix < original.size() && prefix < redacted.size() && original[prefix] == redacted[prefix])
    ++prefix;
  std::size_t suffix = 0;
  while (suffix < original.size() - prefix && suffix < redacted.size() - prefix &&
         original[original.size() - 1 - suffix] == redacted[redacted.size() - 1 - suffix]) {
    ++suffix;
  }
  std::memset(value + prefix, 'x', original.size() - prefix - suffix);
}

}  // namespace

std::vector<std::string> copy_arguments(int argc, const char* const* argv) {
  return std::vector<std::string>(argv, argv + argc);
}

void scrub_arguments(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view argument = argv[i];
    if (argument == kOption && i + 1 < argc) {
      scrub_value(argv[++i]);
    } else if (argument.starts_with(kOption) && argument.size() > kOption.size() &&
               argument[kOption.size()] == '=') {
      scrub_value(argv[i] + kOption.size() + 1);
    }
  }
}

}  // namespace retentiond
