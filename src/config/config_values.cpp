#include <algorithm>
#include <cassert>
#include <cctype>
#include <charconv>

#include "retentiond/config/config_keys.hpp"
#include "retentiond/core/error.hpp"
#include "retentiond/core/text.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

// Values come from files and the environment: quoted and escaped like every input in a message.
std::string in_quotes(std::string_view text) { return quote_input(text); }

std::string_view trim(std::string_view text) {
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
  return out;
}

std::string join_choices(const ConfigKey& key, std::string_view separator) {
  std::string out;
  for (std::string_view choice : key.choices) {
    if (!out.empty()) out += separator;
    out += choice;
  }
  return out;
}

// The variant alternative a key's type requires; a mismatch is a bug in the table above, which
// the unit test "every key is stored in a field of its type" catches before it ships.
template <typename Field>
Field field_of(const ConfigKey& key) {
  assert(std::holds_alternative<Field>(key.field));
  return std::get<Field>(key.field);
}

int parse_integer(const ConfigKey& key, const std::string& name, std::string_view text) {
  int value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  bool whole = ec == std::errc() && end == text.data() + text.size() && !text.empty();
  if (ec != std::errc::result_out_of_range && !whole) {
    throw usage_error(name + ": expected an integer, got " + in_quotes(text));
  }
  if (ec == std::errc::result_out_of_range || value < key.min || value > key.max) {
    throw usage_error(name + " must be between " + std::to_string(key.min) + " and " +
                      std::to_string(key.max) + ", got " + std::string(text));
  }
  return value;
}

bool parse_boolean(const std::string& name, std::string_view text) {
  // The same words as a policy's boolean options (core/text.hpp).
  if (const auto value = parse_boolean_word(text)) return *value;
  throw usage_error(name + ": expected true or false, got " + in_quotes(text));
}

std::string parse_choice(const ConfigKey& key, const std::string& name, std::string_view text) {
  // Case-insensitive because `INFO` and `JSON` are what people type; stored lower-case.
  std::string word = lower(text);
  for (std::string_view choice : key.choices) {
    if (word == choice) return word;
  }
  throw usage_error(name + " must be one of " + join_choices(key, "|") + ", got " + in_quotes(text));
}

Duration parse_duration(const ConfigKey& key, std::string_view text) {
  Duration::Zero zero =
      key.type == KeyType::duration_or_zero ? Duration::Zero::allow : Duration::Zero::reject;
  // A bare `0` needs no unit where zero means "none", as in PostgreSQL's `statement_timeout = 0`.
  if (zero == Duration::Zero::allow && text == "0") return Duration{};
  Duration value = Duration::parse(text, zero);
  if (key.type != KeyType::calendar_duration && !value.is_exact()) {
    throw usage_error("duration " + in_quotes(text) + " must not use months or years here");
  }
  return value;
}

}  // namespace

void store_config_value(const ConfigKey& key, Config& config, const std::string& instance,
                        std::string_view text) {
  const std::string name = instantiate_key_name(key, instance);
  if (key.required && trim(text).empty()) throw usage_error(name + " is required and must not be empty");
  // The parsers below (durations, schedules, identifiers) explain the problem and quote the
  // text but can't know the key; it is added here so every message names it.
  try {
    if (key.check != nullptr) key.check(text);
    switch (key.type) {
      case KeyType::string:
      case KeyType::conninfo:
      case KeyType::secret:
        field_of<StringField>(key)(config, instance) = std::string(text);
        return;
      case KeyType::identifier:
        field_of<StringField>(key)(config, instance) = parse_identifier(trim(text), "schema name");
        return;
      case KeyType::choice:
        field_of<StringField>(key)(config, instance) = parse_choice(key, name, trim(text));
        return;
      case KeyType::duration:
      case KeyType::duration_or_zero:
      case KeyType::calendar_duration:
        field_of<DurationField>(key)(config, instance) = parse_duration(key, trim(text));
        return;
      case KeyType::integer:
        field_of<IntField>(key)(config, instance) = parse_integer(key, name, trim(text));
        return;
      case KeyType::boolean:
        field_of<BoolField>(key)(config, instance) = parse_boolean(name, trim(text));
        return;
    }
  } catch (const Error& e) {
    std::string_view message = e.what();
    if (message.starts_with(name)) throw;  // already names the key (our own messages)
    throw usage_error(name + ": " + std::string(message));
  }
}

std::string format_config_value(const ConfigKey& key, const Config& config, const std::string& instance) {
  // The fields are reached through the table's accessors, which take a mutable Config (a
  // repository accessor creates its entry); a copy keeps the caller's Config untouched.
  Config copy = config;
  switch (key.type) {
    case KeyType::string:
    case KeyType::choice:
      return field_of<StringField>(key)(copy, instance);
    case KeyType::identifier:
      return display_identifier(field_of<StringField>(key)(copy, instance));
    case KeyType::conninfo:
      return redact_url(field_of<StringField>(key)(copy, instance));
    case KeyType::secret:
      return field_of<StringField>(key)(copy, instance).empty() ? "" : "***";
    case KeyType::duration:
    case KeyType::duration_or_zero:
    case KeyType::calendar_duration:
      return field_of<DurationField>(key)(copy, instance).to_string();
    case KeyType::integer:
      return std::to_string(field_of<IntField>(key)(copy, instance));
    case KeyType::boolean:
      return field_of<BoolField>(key)(copy, instance) ? "true" : "false";
  }
  return {};
}

std::string describe_key_type(const ConfigKey& key) {
  if (!key.type_label.empty()) return std::string(key.type_label);
  switch (key.type) {
    case KeyType::string:
      return "string";
    case KeyType::identifier:
      return "identifier";
    case KeyType::conninfo:
      return "libpq URI or conninfo";
    case KeyType::secret:
      return "secret string";
    case KeyType::duration:
      return "duration";
    case KeyType::duration_or_zero:
      return "duration (0 allowed)";
    case KeyType::calendar_duration:
      return "duration (months, years allowed)";
    case KeyType::integer:
      return "integer " + std::to_string(key.min) + "-" + std::to_string(key.max);
    case KeyType::boolean:
      return "bool";
    case KeyType::choice:
      return join_choices(key, " | ");
  }
  return {};
}

}  // namespace retentiond
