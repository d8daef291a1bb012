// Log lines are an interface: pipelines match on the event name and read fields by key. These
// cases pin both forms of a line and the escaping that keeps JSON lines parseable.
#include "retentiond/core/logging.hpp"

#include <memory>
#include <set>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

using namespace retentiond;

namespace {

// Logs through a fresh logger in `format` and returns what it wrote.
template <typename Body>
std::string capture(const char* format, const char* level, Body body) {
  std::ostringstream out;
  init_logging(level, format, false, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  body();
  spdlog::default_logger()->flush();
  return out.str();
}

}  // namespace

TEST_CASE("log: an event in JSON has time, level, event, its fields by key and the message") {
  const std::string line = capture("json", "info", [] {
    log_event(spdlog::level::info, LogEvent::job_succeeded,
              {{"policy", "metrics-delete"},
               {"table", R"("Sensor Data"."x")"},
               {"partition", "public.m_p1"},
               {"job_id", std::int64_t{42}},
               {"duration_ms", 12.3456},
               {"dry", false}},
              "done");
  });
  REQUIRE(line.ends_with("}\n"));
  REQUIRE(line.find('\n') == line.size() - 1);  // one line
  const auto doc = nlohmann::json::parse(line);
  CHECK(doc["level"] == "info");
  CHECK(doc["event"] == "job.succeeded");
  CHECK(doc["policy"] == "metrics-delete");
  CHECK(doc["table"] == R"("Sensor Data"."x")");
  CHECK(doc["partition"] == "public.m_p1");
  CHECK(doc["job_id"] == 42);
  CHECK(doc["duration_ms"].get<double>() == doctest::Approx(12.346));
  CHECK(doc["dry"] == false);
  CHECK(doc["message"] == "done");
  const std::string time = doc["time"];
  CHECK(time.size() == 24);  // 2026-11-22T10:00:00.123Z
  CHECK(time.back() == 'Z');
  // The order is the caller's: time, level and event first, the message last.
  CHECK(line.find("\"time\"") < line.find("\"event\""));
  CHECK(line.find("\"duration_ms\"") < line.find("\"message\""));
}

TEST_CASE("log: JSON lines stay valid with quotes, newlines, control bytes and invalid UTF-8") {
  const std::string line = capture("json", "info", [] {
    log_event(spdlog::level::err, LogEvent::job_failed, {{"error", std::string("a \"b\"\n\tc\x01 \xff\\")}});
  });
  const auto doc = nlohmann::json::parse(line);
  CHECK(doc["error"] == "a \"b\"\n\tc\x01 \xEF\xBF\xBD\\");
  CHECK(doc["level"] == "error");
  CHECK_FALSE(doc.contains("message"));
}

TEST_CASE("log: a message logged without an event is still one JSON object, event log") {
  const std::string line = capture("json", "info", [] { spdlog::warn("plain {}", "text\"x"); });
  const auto doc = nlohmann::json::parse(line);
  CHECK(doc["event"] == "log");
  CHECK(doc["message"] == "plain text\"x");
  CHECK(doc["level"] == "warn");
}

TEST_CASE("log: text lines are event key=value, quoting only values with blanks or quotes") {
  const std::string line = capture("text", "info", [] {
    log_event(spdlog::level::info, LogEvent::policy_finished,
              {{"policy", "ticks"},
               {"status", "succeeded"},
               {"changed", "[log.level=debug]"},
               {"error", "lock not available"},
               {"empty", ""},
               {"planned", std::size_t{3}}},
              "why");
  });
  CHECK(line.find(R"(policy.finished policy=ticks status=succeeded changed=[log.level=debug] )"
                  R"(error="lock not available" empty="" planned=3: why)") != std::string::npos);
  CHECK(line.find(" info ") != std::string::npos);
}

TEST_CASE("log: below the level nothing is formatted or written, -q keeps errors only") {
  CHECK(capture("json", "warn", [] { log_event(spdlog::level::info, LogEvent::daemon_ready, {}); }).empty());
  std::ostringstream out;
  init_logging("debug", "text", true, std::make_shared<spdlog::sinks::ostream_sink_mt>(out));
  log_event(spdlog::level::warn, LogEvent::leader_lost, {});
  log_event(spdlog::level::err, LogEvent::database_unreachable, {});
  spdlog::default_logger()->flush();
  CHECK(out.str().find("leader.lost") == std::string::npos);
  CHECK(out.str().find("database.unreachable") != std::string::npos);
}

TEST_CASE("log: event names are unique, dotted lower case, and each has a meaning") {
  std::set<std::string_view> names;
  for (const auto& event : kLogEvents) {
    CHECK_MESSAGE(names.insert(event.name).second, event.name);
    CHECK_FALSE(event.meaning.empty());
    for (const char c : event.name) CHECK(((c >= 'a' && c <= 'z') || c == '.' || c == '_'));
  }
  CHECK(event_name(LogEvent::job_succeeded) == "job.succeeded");
  CHECK(event_name(LogEvent::log) == "log");
}
