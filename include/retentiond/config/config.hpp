#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "retentiond/policy/duration.hpp"

namespace retentiond {

struct RepositoryConfig {
  std::string path;
  std::string compression = "zstd";  ///< zstd | none
};

/// The effective configuration, typed. Every key, its type, default and description is declared
/// once in the key table (config_keys.hpp); this struct is what the rest of the program reads.
struct Config {
  struct Database {
    std::string url;  ///< empty: libpq defaults and PG* variables
    std::string password_file;  ///< empty: the URL's password, PGPASSWORD or PGPASSFILE
    std::string schema = "retention";
    std::string dialect = "auto";  ///< auto | postgresql | cratedb
    Duration connect_timeout{0, std::chrono::seconds(10)};
    Duration statement_timeout{};  ///< zero = none
    Duration lock_timeout{0, std::chrono::seconds(5)};
  } database;
  struct Scheduler {
    std::string default_schedule = "@hourly";
    int max_concurrent_jobs = 2;
    Duration jitter{};
    Duration poll_interval{0, std::chrono::seconds(60)};
    Duration shutdown_timeout{0, std::chrono::seconds(30)};
  } scheduler;
  struct Retry {
    Duration initial{0, std::chrono::seconds(30)};
    Duration max{0, std::chrono::minutes(30)};
    int max_attempts = 10;
  } retry;
  struct Ha {
    bool enabled = true;
    Duration lease_ttl{0, std::chrono::seconds(15)};
  } ha;
  struct Http {
    bool enabled = true;
    std::string listen = "127.0.0.1:9464";
    std::string status_token;  ///< secret: redacted in every output
  } http;
  struct Log {
    std::string level = "info";   ///< trace | debug | info | warn | error
    std::string format = "auto";  ///< auto | text | json
  } log;
  struct Snapshot {
    std::map<std::string, RepositoryConfig> repositories;
  } snapshot;
  struct Audit {
    Duration keep{0, std::chrono::hours(24 * 90)};
  } audit;
};

/// Where configuration comes from. Precedence: overrides (command line) > environment > file >
/// built-in default.
struct ConfigSources {
  /// `-c FILE`: must exist. When absent, the file named by RETENTIOND_CONFIG in `environment`
  /// (must exist too), else `default_file` if it exists.
  std::optional<std::filesystem::path> file;
  std::filesystem::path default_file = "/etc/retentiond/retentiond.yaml";
  /// The process environment; only `RETENTIOND_*` names are looked at.
  std::map<std::string, std::string> environment;
  /// Command-line values by key name, e.g. {"database.url", "postgresql://..."}.
  std::vector<std::pair<std::string, std::string>> overrides;
};

/// The variable that names the config file when `-c` is not given; the one `RETENTIOND_*`
/// variable that is not a configuration key. Precedence of the file: `-c` > this > default_file.
inline constexpr std::string_view kConfigFileVariable = "RETENTIOND_CONFIG";

/// Reads and validates every source. Unknown keys and wrongly typed values throw a usage Error
/// naming the key and, for the file, its line: `retentiond.yaml:7: unknown key "databse.url"`;
/// nothing else escapes (YAML and standard library errors are turned into usage Errors too).
[[nodiscard]] Config load_config(const ConfigSources& sources);

/// Collects `RETENTIOND_*` variables of the running process.
[[nodiscard]] std::map<std::string, std::string> process_environment();

/// `http.listen` split into host (brackets of `[::1]` removed) and port.
struct ListenAddress {
  std::string host;
  std::uint16_t port = 0;
};

/// Parses `HOST:PORT` or `[IPV6]:PORT`: a non-empty host and a port 0-65535 (0 = any free port).
/// Throws a usage Error quoting the text.
[[nodiscard]] ListenAddress parse_listen_address(std::string_view text);

/// `postgresql://app:***@db/app`: the password of a libpq URI or `password=` of a key=value
/// conninfo replaced by `***`. Everything that prints or logs a URL goes through this.
[[nodiscard]] std::string redact_url(std::string_view url);

/// One line of `config print`.
struct ConfigEntry {
  std::string key;          ///< `database.url`, `snapshot.repositories.cold.path`
  std::string value;        ///< effective value as text, secrets redacted
  std::string source;       ///< `default`, `file`, `env RETENTIOND_DATABASE_URL`, `command line`
  std::string description;  ///< from the key table
};

/// Every key (including each configured snapshot repository's keys) in table order, with its
/// effective value and where it came from. `load_config` records the sources in `Config`-
/// independent form, so this takes the same sources again and re-resolves them cheaply.
[[nodiscard]] std::vector<ConfigEntry> describe_config(const ConfigSources& sources);

}  // namespace retentiond
