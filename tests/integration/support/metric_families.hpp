#pragma once

#include <chrono>
#include <regex>
#include <set>
#include <string>

#include "retentiond/observe/metrics.hpp"

namespace retentiond::testing {

/// The metric families the daemon exposes (`# TYPE` names), read from a Metrics instance with one
/// scheduled policy, so that tests never keep a list of their own that could drift from the code.
inline std::set<std::string> metric_families() {
  Metrics metrics("test");
  Policy policy;
  policy.id = "p";
  policy.strategy = "delete";
  metrics.policies({policy}, 0);
  metrics.schedule("p", std::chrono::sys_seconds(std::chrono::seconds(60)), std::chrono::seconds(60));
  const std::string scrape = metrics.scrape();
  static const std::regex type_line(R"(# TYPE (\S+) )");
  std::set<std::string> names;
  for (auto it = std::sregex_iterator(scrape.begin(), scrape.end(), type_line); it != std::sregex_iterator();
       ++it) {
    names.insert((*it)[1]);
  }
  return names;
}

}  // namespace retentiond::testing
