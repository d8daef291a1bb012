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
#include "support/metric_families.hpp"

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
  const std::string doc = monitoring_doc();
  const auto families = retentiond::testing::metric_families();
  for (const auto& name : families) CHECK_MESSAGE(doc.find("| `" + name + "` |") != std::string::npos, name);
  CHECK(families.size() == 16);
}

TEST_CASE("monitoring docs: the daemon exposes every metric name PRODUCT.md promises") {
  const auto families = retentiond::testing::metric_families();
  for (const char* name :
       {"retentiond_build_info", "retentiond_database_up", "retentiond_is_leader", "retentiond_policies",
        "retentiond_jobs_total", "retentiond_job_duration_seconds", "retentiond_partitions_processed_total",
        "retentiond_rows_deleted_total", "retentiond_bytes_archived_total",
        "retentiond_last_success_timestamp_seconds", "retentiond_next_run_timestamp_seconds",
        "retentiond_expired_partitions_pending"}) {
    CHECK_MESSAGE(families.contains(name), name);
  }
}
