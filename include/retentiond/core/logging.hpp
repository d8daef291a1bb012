#pragma once

#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <span>
#include <string>
#include <string_view>

#include <spdlog/common.h>
#include <spdlog/sinks/sink.h>

#include "retentiond/core/log_events.hpp"

namespace retentiond {

/// Sets up the process logger on stderr. `format` is auto | text | json (auto: text on a
/// terminal, json otherwise, so a service's journal or a container log gets parseable lines).
/// `quiet` keeps only errors, for cron. Level names are those of the `log.level` key. `sink`
/// replaces stderr (tests read the lines back); with format auto it counts as no terminal.
void init_logging(std::string_view level, std::string_view format, bool quiet,
                  std::shared_ptr<spdlog::sinks::sink> sink = nullptr);

/// One key=value of a log line. Keys are the same across events: policy, table, partition,
/// job_id, duration_ms, rows, bytes, status, error, instance.
class LogField {
 public:
  LogField(std::string_view key, std::string_view value) : key_(key), view_(value), quoted_(true) {}
  LogField(std::string_view key, const std::string& value) : LogField(key, std::string_view(value)) {}
  /// A temporary string is kept, so a field stays valid wherever the field goes.
  LogField(std::string_view key, std::string&& value)
      : key_(key), owned_(std::move(value)), owns_(true), quoted_(true) {}
  LogField(std::string_view key, const char* value) : LogField(key, std::string_view(value)) {}
  LogField(std::string_view key, bool value) : key_(key), view_(value ? "true" : "false") {}
  template <std::integral T>
  requires(!std::same_as<T, bool>) LogField(std::string_view key, T value)
      : key_(key), owned_(std::to_string(value)), owns_(true) {}
  /// Rounded to milliseconds' precision: durations in seconds or milliseconds.
  LogField(std::string_view key, double value);

  [[nodiscard]] std::string_view key() const { return key_; }
  [[nodiscard]] std::string_view text() const { return owns_ ? std::string_view(owned_) : view_; }
  /// A string value (JSON string, quoted in text when it has blanks); else a number or bool.
  [[nodiscard]] bool quoted() const { return quoted_; }

 private:
  std::string_view key_;
  std::string_view view_;  ///< a string value: the caller's, alive for the call
  std::string owned_;      ///< a formatted number
  bool owns_ = false;
  bool quoted_ = false;
};

/// Logs `event` with its fields and an optional human explanation. Text: `job.succeeded
/// policy=p table=public.m: message`; JSON: {"time","level","event",fields...,"message"}.
/// Costs nothing when the level is off.
void log_event(spdlog::level::level_enum level, LogEvent event, std::span<const LogField> fields,
               std::string_view message = {});
inline void log_event(spdlog::level::level_enum level, LogEvent event, std::initializer_list<LogField> fields,
                      std::string_view message = {}) {
  log_event(level, event, std::span<const LogField>(fields.begin(), fields.size()), message);
}

}  // namespace retentiond
