#include "retentiond/core/logging.hpp"

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <memory>

#include <fmt/format.h>
#include <spdlog/formatter.h>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "retentiond/core/escape.hpp"
#include "retentiond/core/json_text.hpp"

namespace retentiond {
namespace {

std::atomic<bool> json_lines{false};
// Set while log_event hands its ready-made payload to spdlog. The logger is synchronous, so the
// formatter runs on the same thread inside that call and can tell an event's fields (already
// JSON) from a bare message of a library.
thread_local bool payload_is_fields = false;

// One JSON object per line: {"time","level","event",fields...,"message"}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string line;
    line.reserve(msg.payload.size() + 96);
    using namespace std::chrono;
    const auto since_epoch = msg.time.time_since_epoch();
    const auto secs = duration_cast<seconds>(since_epoch);
    const auto millis = duration_cast<milliseconds>(since_epoch - secs).count();
    const std::time_t t = secs.count();
    std::tm utc{};
    gmtime_r(&t, &utc);
    char stamp[64];
    std::snprintf(stamp, sizeof stamp, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, static_cast<int>(millis));
    line += "{\"time\":\"";
    line += stamp;
    line += "\",\"level\":\"";
    // The names of the log.level key (spdlog says "warning"), so a filter uses one vocabulary.
    const auto level = msg.level == spdlog::level::warn ? spdlog::string_view_t("warn")
                                                        : spdlog::level::to_string_view(msg.level);
    line.append(level.data(), level.size());
    line += "\",";
    const std::string_view payload(msg.payload.data(), msg.payload.size());
    if (payload_is_fields) {
      line += payload;
    } else {
      line += "\"event\":\"log\",\"message\":";
      append_json_string(line, payload);
    }
    line += "}\n";
    dest.append(line.data(), line.data() + line.size());
  }
  [[nodiscard]] std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

// The message of a text line, escaped: a name or server error holding a newline or ESC must
// not start a forged line or drive the terminal. Event fields are quoted already; this covers
// the free-text message after them and lines from libraries.
class EscapedPayload final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& dest) override {
    const std::string text = escape_control(std::string_view(msg.payload.data(), msg.payload.size()));
    dest.append(text.data(), text.data() + text.size());
  }
  [[nodiscard]] std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<EscapedPayload>();
  }
};

// Text values stay bare unless a reader could not tell where they end.
bool needs_quotes(std::string_view text) {
  if (text.empty()) return true;
  for (const char c : text) {
    if (static_cast<unsigned char>(c) <= ' ' || c == '"' || c == '\\') return true;
  }
  return false;
}

class PayloadFlag {
 public:
  PayloadFlag() { payload_is_fields = true; }
  ~PayloadFlag() { payload_is_fields = false; }
  PayloadFlag(const PayloadFlag&) = delete;
  PayloadFlag& operator=(const PayloadFlag&) = delete;
};

}  // namespace

LogField::LogField(std::string_view key, double value)
    : key_(key), owned_(std::isfinite(value) ? fmt::format("{:.3f}", value) : "null"), owns_(true) {}

void init_logging(std::string_view level, std::string_view format, bool quiet,
                  std::shared_ptr<spdlog::sinks::sink> sink) {
  const bool terminal = sink == nullptr && isatty(STDERR_FILENO) != 0;
  if (sink == nullptr) sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  auto logger = std::make_shared<spdlog::logger>("retentiond", std::move(sink));
  const bool json = format == "json" || (format == "auto" && !terminal);
  json_lines = json;
  if (json) {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else {
    auto formatter = std::make_unique<spdlog::pattern_formatter>(spdlog::pattern_time_type::utc);
    formatter->add_flag<EscapedPayload>('*').set_pattern("%Y-%m-%d %H:%M:%S.%e %^%-5l%$ %*");
    logger->set_formatter(std::move(formatter));
  }
  logger->set_level(quiet ? spdlog::level::err : spdlog::level::from_str(std::string(level)));
  logger->flush_on(spdlog::level::info);
  spdlog::set_default_logger(std::move(logger));
}

void log_event(spdlog::level::level_enum level, LogEvent event, std::span<const LogField> fields,
               std::string_view message) {
  spdlog::logger* logger = spdlog::default_logger_raw();
  if (!logger->should_log(level)) return;
  std::string payload;
  payload.reserve(128);
  if (json_lines) {
    payload += "\"event\":\"";
    payload += event_name(event);
    payload += '"';
    for (const auto& field : fields) {
      payload += ',';
      append_json_string(payload, field.key());
      payload += ':';
      if (field.quoted()) {
        append_json_string(payload, field.text());
      } else {
        payload += field.text();
      }
    }
    if (!message.empty()) {
      payload += ",\"message\":";
      append_json_string(payload, message);
    }
  } else {
    payload += event_name(event);
    for (const auto& field : fields) {
      payload += ' ';
      payload += field.key();
      payload += '=';
      if (field.quoted() && needs_quotes(field.text())) {
        append_json_string(payload, field.text());
      } else {
        payload += field.text();
      }
    }
    if (!message.empty()) {
      payload += ": ";
      payload += message;
    }
  }
  const PayloadFlag flag;
  logger->log(level, spdlog::string_view_t(payload.data(), payload.size()));
}

}  // namespace retentiond
