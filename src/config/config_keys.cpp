#include "retentiond/config/config_keys.hpp"

#include <algorithm>
#include <cctype>

#include "retentiond/core/error.hpp"
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

}  // namespace retentiond
