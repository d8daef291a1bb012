// docs/monitoring.md is the operator's reference for log events and metrics: every event the
// code declares and every metric family the daemon exposes must be listed there, so that a new
// one cannot ship undocumented.
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>

#include <doctest/doctest.h>

#include "retentiond/core/log_events.hpp"
#include "retentiond/observe/metrics.hpp"

namespace {

std::string monitoring_doc() {
  const auto path =
      std::filesystem::path(__FILE__).parent_path().parent_path().parent_path() / "docs" / "monitoring.md";
  std::ifstream in(path);
  REQUIRE_MESSAGE(in, "cannot read " << path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

}  // namespace

TEST_CASE("monitoring docs: every log event is in the table of docs/monitoring.md") {
  const std::string doc = monitoring_doc();
  for (const auto& event : retentiond::kLogEvents) {
    CHECK_MESSAGE(doc.find("| `" + std::string(event.name) + "` |") != std::string::npos, event.name);
  }
}

TEST_CASE("monitoring docs: every metric family the daemon exposes is in the table of docs/monitoring.md") {
  retentiond::Metrics metrics("test");
  retentiond::Policy policy;
  policy.id = "p";
  policy.strategy = "delete";
  metrics.policies({policy}, 0);
  metrics.schedule("p", std::chrono::sys_seconds(std::chrono::seconds(60)), std::chrono::seconds(60));
  const std::string scrape = metrics.scrape();
  const std::string doc = monitoring_doc();
  static const std::regex type_line(R"(# TYPE (\S+) )");
  int families = 0;
  for (auto it = std::sregex_iterator(scrape.begin(), scrape.end(), type_line); it != std::sregex_iterator(); ++it) {
    ++families;
    const std::string name = (*it)[1];
    CHECK_MESSAGE(doc.find("| `" + name + "` |") != std::string::npos, name);
  }
  CHECK(families == 16);
}
