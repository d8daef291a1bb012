#include <algorithm>
#include <cstddef>
#include <vector>

#include "retentiond/config/config_keys.hpp"

namespace retentiond {
namespace {

std::size_t edit_distance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      std::size_t above = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diagonal = above;
    }
  }
  return row[b.size()];
}

// The candidate nearest to a mistyped name, if it is near enough (2 edits) to be the likely
// intent; further away, a suggestion would only mislead.
std::string closest(std::string_view name, const std::vector<std::string>& candidates) {
  std::string best;
  std::size_t best_distance = 3;
  for (const std::string& candidate : candidates) {
    std::size_t distance = edit_distance(name, candidate);
    if (distance < best_distance) {
      best = candidate;
      best_distance = distance;
    }
  }
  return best;
}

}  // namespace

std::string suggest_key(std::string_view name) {
  // Per-repository keys are compared with the repository name the user wrote, so a typo in
  // `snapshot.repositories.cold.pth` suggests `snapshot.repositories.cold.path`.
  std::string instance;
  constexpr std::string_view kRepositories = "snapshot.repositories.";
  if (name.starts_with(kRepositories)) {
    std::string_view rest = name.substr(kRepositories.size());
    instance = std::string(rest.substr(0, rest.find('.')));
  }
  // Sections are candidates too: `databse:` is most likely `database:`.
  std::vector<std::string> candidates;
  for (const ConfigKey& key : config_keys()) {
    std::string full = instantiate_key_name(key, instance);
    for (std::size_t dot = full.find('.'); dot != std::string::npos; dot = full.find('.', dot + 1)) {
      candidates.push_back(full.substr(0, dot));
    }
    candidates.push_back(full);
  }
  return closest(name, candidates);
}

std::string suggest_environment_name(std::string_view variable) {
  std::vector<std::string> candidates;
  for (const ConfigKey& key : config_keys()) {
    std::string pattern = environment_name(key.name);
    std::size_t at = pattern.find(kInstanceSegment);
    if (at == std::string::npos) {
      candidates.push_back(pattern);
      continue;
    }
    // The repository name is what lies between the prefix and the last `_`, as the user wrote it.
    std::string_view head = std::string_view{pattern}.substr(0, at);
    if (!variable.starts_with(head)) continue;
    std::string_view rest = variable.substr(head.size());
    std::size_t underscore = rest.rfind('_');
    if (underscore == std::string_view::npos || underscore == 0) continue;
    candidates.push_back(std::string(head) + std::string(rest.substr(0, underscore)) +
                         pattern.substr(at + kInstanceSegment.size()));
  }
  return closest(variable, candidates);
}

}  // namespace retentiond
