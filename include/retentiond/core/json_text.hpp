#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace retentiond {

/// Appends `text` as a JSON string literal, quotes included. Control characters, `"` and `\`
/// are escaped as RFC 8259 requires; bytes that are not well-formed UTF-8 (a database in
/// SQL_ASCII can hand out any bytes) become U+FFFD, so the output is always valid JSON.
void append_json_string(std::string& out, std::string_view text);

/// append_json_string() into a new string.
[[nodiscard]] std::string json_string(std::string_view text);

/// Writes one JSON object straight into a string, field by field, in the order given. For
/// output streamed per item (a dry run over 100,000 partitions), where building a document
/// tree per item would cost more than the planning itself.
class JsonObjectWriter {
 public:
  explicit JsonObjectWriter(std::string& out) : out_(out) { out_ += '{'; }
  JsonObjectWriter& field(std::string_view key, std::string_view value);
  /// null when empty
  JsonObjectWriter& optional_field(std::string_view key, const std::optional<std::string>& value);
  /// null when empty
  JsonObjectWriter& number(std::string_view key, std::optional<std::int64_t> value);
  JsonObjectWriter& null(std::string_view key);
  /// `json` is already a serialised JSON value.
  JsonObjectWriter& raw(std::string_view key, std::string_view json);
  void close() { out_ += '}'; }

 private:
  void key(std::string_view name);
  std::string& out_;
  bool first_ = true;
};

}  // namespace retentiond
