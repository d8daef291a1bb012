#include "retentiond/config/config_keys.hpp"

#include <algorithm>
#include <cassert>
#include <cctype>
#include <charconv>
#include <cstddef>
#include <vector>

#include "retentiond/core/error.hpp"
#include "retentiond/core/text.hpp"
#include "retentiond/policy/schedule.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

// A captureless lambda returning a reference to one member; unary + turns it into the function
// pointer ConfigField holds, and the member's type picks the variant alternative, so a key's
// storage can't be declared with the wrong type.
#define RETENTIOND_FIELD(member) (+[](Config & c, const std::string&) -> auto& { return c.member; })
#define RETENTIOND_REPOSITORY_FIELD(member) \
  (+[](Config & c, const std::string& name) -> auto& { return c.snapshot.repositories[name].member; })

void check_schedule(std::string_view text) { (void)Schedule::parse(text); }
void check_listen(std::string_view text) { (void)parse_listen_address(text); }
// PostgreSQL keeps timeouts in milliseconds in an int: about 24.8 days at most.
void check_server_timeout(std::string_view text) {
  if (text == "0") return;  // "none", accepted without a unit like in postgresql.conf
  if (Duration::parse(text, Duration::Zero::allow).seconds() > std::chrono::hours(24 * 24)) {
    throw usage_error("at most 24d (PostgreSQL's limit for timeouts)");
  }
}

// pg_catalog, pg_toast, pg_temp_N and every other pg_ name belong to the server (CREATE SCHEMA
// refuses the prefix), information_schema to the SQL standard's views: retentiond's tables have
// no place there, and a setup that tried would fail half-way.
void check_retention_schema(std::string_view text) {
  std::string_view name = text;
  while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
  while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
  const std::string parsed = parse_identifier(name, "schema name");
  if (parsed.starts_with("pg_") || parsed == "information_schema") {
    throw usage_error("a system schema cannot hold the retention tables; choose another, e.g. retention");
  }
}

constexpr std::string_view kDialects[] = {"auto", "postgresql", "cratedb"};
constexpr std::string_view kLogLevels[] = {"trace", "debug", "info", "warn", "error"};
constexpr std::string_view kLogFormats[] = {"auto", "text", "json"};
constexpr std::string_view kCompressions[] = {"zstd", "none"};

// Timing keys are exact durations so their users can take .seconds() without a calendar; only
// audit.keep, a retention period like a policy's ttl, may be given in months or years.
constexpr ConfigKey kKeys[] = {
    {.name = "database.url",
     .type = KeyType::conninfo,
     .default_text = "",
     .description = "libpq URI (postgresql://user@host:5432/db) or key=value conninfo; empty: libpq "
                    "defaults and the PG* environment variables apply",
     .field = RETENTIOND_FIELD(database.url)},
    {.name = "database.password_file",
     .type = KeyType::string,
     .default_text = "",
     .description = "file holding the database password (its one line, trailing newline "
                    "stripped), read at every connect; must be a regular file of at most 4 KiB "
                    "that only its owner can access (chmod 600); empty: a password in "
                    "database.url, else libpq's PGPASSWORD or PGPASSFILE (~/.pgpass)",
     .field = RETENTIOND_FIELD(database.password_file)},
    {.name = "database.schema",
     .type = KeyType::identifier,
     .default_text = "retention",
     .description = "schema that holds the policies, jobs_log and policy_events tables",
     .field = RETENTIOND_FIELD(database.schema),
     .check = check_retention_schema},
    {.name = "database.dialect",
     .type = KeyType::choice,
     .default_text = "auto",
     .description = "SQL dialect of the database; auto detects PostgreSQL or CrateDB on connect",
     .field = RETENTIOND_FIELD(database.dialect),
     .choices = kDialects},
    {.name = "database.connect_timeout",
     .type = KeyType::duration,
     .default_text = "10s",
     .description = "how long to wait for a database connection",
     .field = RETENTIOND_FIELD(database.connect_timeout)},
    {.name = "database.statement_timeout",
     .type = KeyType::duration_or_zero,
     .default_text = "0s",
     .description = "statement_timeout of every statement retentiond runs; 0 = none",
     .field = RETENTIOND_FIELD(database.statement_timeout),
     .check = check_server_timeout},
    {.name = "database.lock_timeout",
     .type = KeyType::duration_or_zero,
     .default_text = "5s",
     .description = "lock_timeout of DDL/DML actions: an action gives up rather than queue "
                    "queries behind it; 0 = wait forever",
     .field = RETENTIOND_FIELD(database.lock_timeout),
     .check = check_server_timeout},
    {.name = "scheduler.default_schedule",
     .type = KeyType::string,
     .default_text = "@hourly",
     .description = "schedule of policies that have none: cron (5 fields), @hourly, @daily, "
                    "@weekly, @monthly or @every DURATION",
     .field = RETENTIOND_FIELD(scheduler.default_schedule),
     .check = check_schedule,
     .type_label = "schedule"},
    {.name = "scheduler.max_concurrent_jobs",
     .type = KeyType::integer,
     .default_text = "2",
     .description = "how many policies may run at the same time (the daemon); how many tables "
                    "`run --once` works on at once, one session each",
     .field = RETENTIOND_FIELD(scheduler.max_concurrent_jobs),
     .min = 1,
     .max = 1024},
    {.name = "scheduler.jitter",
     .type = KeyType::duration_or_zero,
     .default_text = "0s",
     .description = "random delay of up to this much added to each scheduled run so that "
                    "policies do not all start at once; 0 = none",
     .field = RETENTIOND_FIELD(scheduler.jitter)},
    {.name = "scheduler.poll_interval",
     .type = KeyType::duration,
     .default_text = "60s",
     .description = "how often policies are re-read when LISTEN/NOTIFY is unavailable",
     .field = RETENTIOND_FIELD(scheduler.poll_interval)},
    {.name = "scheduler.shutdown_timeout",
     .type = KeyType::duration,
     .default_text = "30s",
     .description = "on SIGTERM/SIGINT, how long running jobs may take to finish before they "
                    "are abandoned",
     .field = RETENTIOND_FIELD(scheduler.shutdown_timeout)},
    {.name = "retry.initial",
     .type = KeyType::duration,
     .default_text = "30s",
     .description = "delay before the first retry of a failed action; doubles, with jitter, "
                    "on each further attempt",
     .field = RETENTIOND_FIELD(retry.initial)},
    {.name = "retry.max",
     .type = KeyType::duration,
     .default_text = "30m",
     .description = "upper bound of the retry delay; not less than retry.initial",
     .field = RETENTIOND_FIELD(retry.max)},
    {.name = "retry.max_attempts",
     .type = KeyType::integer,
     .default_text = "10",
     .description = "how many times a failed action is retried before it stays failed; 0 = "
                    "never retried",
     .field = RETENTIOND_FIELD(retry.max_attempts),
     .min = 0,
     .max = 1000},
    {.name = "ha.enabled",
     .type = KeyType::boolean,
     .default_text = "true",
     .description = "leader election through the database: of several daemons on one database, "
                    "only the leader runs jobs",
     .field = RETENTIOND_FIELD(ha.enabled)},
    {.name = "ha.lease_ttl",
     .type = KeyType::duration,
     .default_text = "15s",
     .description = "how long a leader's lease lasts without renewal before another daemon "
                    "may take over",
     .field = RETENTIOND_FIELD(ha.lease_ttl)},
    {.name = "http.enabled",
     .type = KeyType::boolean,
     .default_text = "true",
     .description = "serve /metrics, /healthz, /readyz and /status",
     .field = RETENTIOND_FIELD(http.enabled)},
    {.name = "http.listen",
     .type = KeyType::string,
     .default_text = "127.0.0.1:9464",
     .description = "address of the HTTP listener (an IPv4 address or a host name); port 0 picks a free port",
     .field = RETENTIOND_FIELD(http.listen),
     .check = check_listen,
     .type_label = "HOST:PORT"},
    {.name = "http.status_token",
     .type = KeyType::secret,
     .default_text = "",
     .description = "bearer token required by /status when set",
     .field = RETENTIOND_FIELD(http.status_token)},
    {.name = "log.level",
     .type = KeyType::choice,
     .default_text = "info",
     .description = "least severe log level written",
     .field = RETENTIOND_FIELD(log.level),
     .choices = kLogLevels},
    {.name = "log.format",
     .type = KeyType::choice,
     .default_text = "auto",
     .description = "log line format: text, JSON lines, or auto (text on a terminal)",
     .field = RETENTIOND_FIELD(log.format),
     .choices = kLogFormats},
    {.name = "snapshot.repositories.<NAME>.path",
     .type = KeyType::string,
     .default_text = "",
     .description = "directory that holds this repository's archives (compressed data and "
                    "manifests); NAME matches [a-z0-9_-]+ and is a policy's snapshot target",
     .field = RETENTIOND_REPOSITORY_FIELD(path),
     .required = true},
    {.name = "snapshot.repositories.<NAME>.compression",
     .type = KeyType::choice,
     .default_text = "zstd",
     .description = "compression of archived partition data",
     .field = RETENTIOND_REPOSITORY_FIELD(compression),
     .choices = kCompressions},
    {.name = "audit.keep",
     .type = KeyType::calendar_duration,
     .default_text = "90d",
     .description = "jobs_log and policy_events rows older than this are removed",
     .field = RETENTIOND_FIELD(audit.keep)},
};

#undef RETENTIOND_FIELD
#undef RETENTIOND_REPOSITORY_FIELD

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

std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string code(std::string_view text) { return "`" + std::string(text) + "`"; }

}  // namespace

std::span<const ConfigKey> config_keys() { return kKeys; }

std::string environment_name(std::string_view key_name) {
  std::string out = "RETENTIOND_";
  for (char c : key_name) {
    out += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  }
  return out;
}

std::string instantiate_key_name(const ConfigKey& key, const std::string& instance) {
  std::string name(key.name);
  if (auto at = name.find(kInstanceSegment); at != std::string::npos) {
    name.replace(at, kInstanceSegment.size(), instance);
  }
  return name;
}

bool is_valid_instance_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
  });
}

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
  for (const ConfigKey& key : kKeys) {
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
  for (const ConfigKey& key : kKeys) {
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

std::string render_config_reference_markdown() {
  std::string out =
      "| Key | Type | Default | Environment variable | Description |\n"
      "|---|---|---|---|---|\n";
  for (const ConfigKey& key : kKeys) {
    std::string default_cell =
        key.required ? "(required)" : code(key.default_text.empty() ? "\"\"" : key.default_text);
    out += "| " + code(key.name) + " | " + markdown_cell(describe_key_type(key)) + " | " +
           markdown_cell(default_cell) + " | " + code(environment_name(key.name)) + " | " +
           markdown_cell(key.description) + " |\n";
  }
  return out;
}

}  // namespace retentiond
