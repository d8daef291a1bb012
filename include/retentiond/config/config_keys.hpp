#pragma once

#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "retentiond/config/config.hpp"

namespace retentiond {

/// How a key's text is read, checked and printed.
enum class KeyType {
  string,             ///< any text
  identifier,         ///< a PostgreSQL identifier; stored folded/unquoted, printed in display form
  conninfo,           ///< libpq URI or key=value conninfo; printed through redact_url
  secret,             ///< any text; printed as `***` when set
  duration,           ///< exact duration (no months/years), zero rejected
  duration_or_zero,   ///< exact duration, zero allowed (and meaning "none" or "off")
  calendar_duration,  ///< duration that may hold months/years (retention-like keys), zero rejected
  integer,            ///< int within [min, max]
  boolean,            ///< true|false (also yes|no, on|off, 1|0)
  choice,             ///< one of `choices`
};

/// Where a key's value lives in `Config`. `instance` is the repository name for keys under
/// `snapshot.repositories.<NAME>.`, empty for every other key. Function pointers (not
/// std::function) keep the table a constant with no static initialisation order to think about.
using StringField = std::string& (*)(Config&, const std::string& instance);
using DurationField = Duration& (*)(Config&, const std::string& instance);
using IntField = int& (*)(Config&, const std::string& instance);
using BoolField = bool& (*)(Config&, const std::string& instance);
using ConfigField = std::variant<StringField, DurationField, IntField, BoolField>;

/// One configuration key: the single source of truth for loading, `config print` and the docs.
struct ConfigKey {
  /// Dotted name as written in YAML nesting, e.g. `database.url`; the segment `<NAME>` stands for
  /// a user-chosen repository name (`snapshot.repositories.<NAME>.path`).
  std::string_view name;
  KeyType type;
  /// The built-in default as text, in the canonical form describe_config prints (`10s`, `90d`).
  /// Empty for keys whose default is empty or that are required.
  std::string_view default_text;
  std::string_view description;
  ConfigField field;
  std::span<const std::string_view> choices = {};  ///< KeyType::choice
  int min = 0;                                     ///< KeyType::integer, inclusive
  int max = 0;                                     ///< KeyType::integer, inclusive
  bool required = false;                           ///< must be set, non-empty (repository path)
  /// Further checks beyond the type (schedule syntax, HOST:PORT). Throws a usage Error whose
  /// message explains the problem; the caller prefixes the key and location.
  void (*check)(std::string_view text) = nullptr;
  /// Shown in the docs' type column instead of the type's own name when set (`HOST:PORT`).
  std::string_view type_label = {};
};

/// The segment standing for a repository name in key names.
inline constexpr std::string_view kInstanceSegment = "<NAME>";

/// Every key, in the order `config print` and the docs list them.
[[nodiscard]] std::span<const ConfigKey> config_keys();

/// `RETENTIOND_<SECTION>_<KEY>` upper-cased; `<NAME>` stays as is for per-repository keys.
[[nodiscard]] std::string environment_name(std::string_view key_name);

/// The key name with `<NAME>` replaced by `instance` (no change for other keys).
[[nodiscard]] std::string instantiate_key_name(const ConfigKey& key, const std::string& instance);

/// A repository name must match `[a-z0-9_-]+`: it ends up in file and environment names.
[[nodiscard]] bool is_valid_instance_name(std::string_view name);

/// Parses and validates `text` for `key` and stores it in `config`. Throws a usage Error naming
/// the key, e.g. `scheduler.max_concurrent_jobs: expected an integer, got "two"`, without a
/// location: the caller knows where the text came from.
void store_config_value(const ConfigKey& key, Config& config, const std::string& instance,
                        std::string_view text);

/// The stored value as text for people: durations canonical, secrets and passwords redacted.
[[nodiscard]] std::string format_config_value(const ConfigKey& key, const Config& config,
                                              const std::string& instance);

/// The type as the docs show it, e.g. `duration (0 allowed)`, `integer 1-1024`, `auto | text | json`.
[[nodiscard]] std::string describe_key_type(const ConfigKey& key);

/// The closest known key name to a mistyped one (edit distance <= 2), or empty.
[[nodiscard]] std::string suggest_key(std::string_view name);

/// The closest known `RETENTIOND_*` variable to a mistyped one (edit distance <= 2), or empty.
[[nodiscard]] std::string suggest_environment_name(std::string_view variable);

/// The key table as Markdown rows (one per key: name, type, default, environment variable,
/// description). docs/configuration.md embeds exactly this text between `<!-- BEGIN KEYS -->` and
/// `<!-- END KEYS -->`; a unit test keeps the two equal so the docs can't drift from the code.
[[nodiscard]] std::string render_config_reference_markdown();

}  // namespace retentiond
