#include "retentiond/config/config.hpp"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <doctest/doctest.h>
#include <yaml-cpp/yaml.h>

#include "retentiond/config/config_keys.hpp"
#include "retentiond/core/error.hpp"

namespace fs = std::filesystem;
using namespace retentiond;

namespace {

// A private directory under the system temp dir, removed with everything in it.
class TempDir {
 public:
  TempDir() {
    static int counter = 0;
    path_ = fs::temp_directory_path() /
            ("retentiond-config-test-" + std::to_string(::getpid()) + "-" + std::to_string(++counter));
    fs::create_directories(path_);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] const fs::path& path() const { return path_; }

  fs::path write(const std::string& name, const std::string& text) const {
    fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  fs::path path_;
};

// Sources that never read the host's /etc/retentiond/retentiond.yaml.
ConfigSources isolated(const TempDir& dir) {
  ConfigSources sources;
  sources.default_file = dir.path() / "no-such-default.yaml";
  return sources;
}

ConfigSources with_file(const TempDir& dir, const std::string& text) {
  ConfigSources sources = isolated(dir);
  sources.file = dir.write("retentiond.yaml", text);
  return sources;
}

// The message of the usage Error load_config throws; fails the test for anything else.
std::string load_error(const ConfigSources& sources) {
  try {
    (void)load_config(sources);
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  } catch (const std::exception& e) {
    FAIL("not a retentiond::Error: " << e.what());
  }
  FAIL("no error");
  return {};
}

std::string file_error(const TempDir& dir, const std::string& text) {
  return load_error(with_file(dir, text));
}

std::string env_error(const TempDir& dir, const std::string& variable, const std::string& value) {
  ConfigSources sources = isolated(dir);
  sources.environment[variable] = value;
  return load_error(sources);
}

// The file's path as it appears in messages, followed by `:LINE`.
std::string at(const TempDir& dir, int line) {
  return (dir.path() / "retentiond.yaml").string() + ":" + std::to_string(line);
}

const ConfigEntry& entry(const std::vector<ConfigEntry>& entries, const std::string& key) {
  for (const ConfigEntry& e : entries) {
    if (e.key == key) return e;
  }
  FAIL("no entry " << key);
  return entries.front();
}

fs::path repository_root() { return fs::path(__FILE__).parent_path().parent_path().parent_path(); }

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

bool is_instance_key(const ConfigKey& key) {
  return key.name.find(kInstanceSegment) != std::string_view::npos;
}

}  // namespace

// ---- the key table -------------------------------------------------------------------------

TEST_CASE("config: every key is stored in a field of its type") {
  for (const ConfigKey& key : config_keys()) {
    CAPTURE(key.name);
    switch (key.type) {
      case KeyType::string:
      case KeyType::identifier:
      case KeyType::conninfo:
      case KeyType::secret:
      case KeyType::choice:
        CHECK(std::holds_alternative<StringField>(key.field));
        break;
      case KeyType::duration:
      case KeyType::duration_or_zero:
      case KeyType::calendar_duration:
        CHECK(std::holds_alternative<DurationField>(key.field));
        break;
      case KeyType::integer:
        CHECK(std::holds_alternative<IntField>(key.field));
        CHECK(key.min <= key.max);
        break;
      case KeyType::boolean:
        CHECK(std::holds_alternative<BoolField>(key.field));
        break;
    }
    CHECK((key.type == KeyType::choice) == !key.choices.empty());
    CHECK(!key.description.empty());
  }
}

TEST_CASE("config: the table's defaults and Config's member initialisers agree") {
  const Config built_in{};
  for (const ConfigKey& key : config_keys()) {
    CAPTURE(key.name);
    Config parsed;
    const std::string instance = is_instance_key(key) ? "cold" : "";
    if (key.required) continue;
    store_config_value(key, parsed, instance, key.default_text);
    Config with_repository = built_in;
    if (!instance.empty()) with_repository.snapshot.repositories[instance];
    CHECK(format_config_value(key, parsed, instance) == format_config_value(key, with_repository, instance));
  }
}

TEST_CASE("config: environment names are RETENTIOND_SECTION_KEY upper-cased") {
  CHECK(environment_name("scheduler.max_concurrent_jobs") == "RETENTIOND_SCHEDULER_MAX_CONCURRENT_JOBS");
  CHECK(environment_name("database.url") == "RETENTIOND_DATABASE_URL");
  CHECK(environment_name("snapshot.repositories.<NAME>.path") ==
        "RETENTIOND_SNAPSHOT_REPOSITORIES_<NAME>_PATH");
}

TEST_CASE("config: the keys of the product contract exist with exactly those names") {
  for (const char* name : {"database.url",
                           "database.schema",
                           "database.dialect",
                           "database.connect_timeout",
                           "database.statement_timeout",
                           "database.lock_timeout",
                           "scheduler.default_schedule",
                           "scheduler.max_concurrent_jobs",
                           "scheduler.jitter",
                           "scheduler.poll_interval",
                           "scheduler.shutdown_timeout",
                           "retry.initial",
                           "retry.max",
                           "retry.max_attempts",
                           "ha.enabled",
                           "ha.lease_ttl",
                           "http.enabled",
                           "http.listen",
                           "http.status_token",
                           "log.level",
                           "log.format",
                           "snapshot.repositories.<NAME>.path",
                           "snapshot.repositories.<NAME>.compression",
                           "audit.keep"}) {
    CAPTURE(name);
    bool found = false;
    for (const ConfigKey& key : config_keys()) found = found || key.name == name;
    CHECK(found);
  }
}

// ---- sources and precedence ----------------------------------------------------------------

TEST_CASE("config: with no file, environment or options every key has its default") {
  TempDir dir;
  Config config = load_config(isolated(dir));
  CHECK(config.database.url.empty());
  CHECK(config.database.schema == "retention");
  CHECK(config.database.dialect == "auto");
  CHECK(config.database.connect_timeout == Duration(0, std::chrono::seconds(10)));
  CHECK(config.database.statement_timeout.is_zero());
  CHECK(config.database.lock_timeout == Duration(0, std::chrono::seconds(5)));
  CHECK(config.scheduler.default_schedule == "@hourly");
  CHECK(config.scheduler.max_concurrent_jobs == 2);
  CHECK(config.scheduler.jitter.is_zero());
  CHECK(config.scheduler.poll_interval == Duration(0, std::chrono::seconds(60)));
  CHECK(config.scheduler.shutdown_timeout == Duration(0, std::chrono::seconds(30)));
  CHECK(config.retry.initial == Duration(0, std::chrono::seconds(30)));
  CHECK(config.retry.max == Duration(0, std::chrono::minutes(30)));
  CHECK(config.retry.max_attempts == 10);
  CHECK(config.ha.enabled);
  CHECK(config.ha.lease_ttl == Duration(0, std::chrono::seconds(15)));
  CHECK(config.http.enabled);
  CHECK(config.http.listen == "127.0.0.1:9464");
  CHECK(config.http.status_token.empty());
  CHECK(config.log.level == "info");
  CHECK(config.log.format == "auto");
  CHECK(config.snapshot.repositories.empty());
  CHECK(config.audit.keep == Duration(0, std::chrono::hours(24 * 90)));
}

TEST_CASE("config: command line beats environment beats file beats default") {
  TempDir dir;
  ConfigSources sources = with_file(dir,
                                    "log:\n"
                                    "  level: debug\n"
                                    "  format: json\n"
                                    "database:\n"
                                    "  schema: from_file\n"
                                    "  connect_timeout: 20s\n");
  sources.environment["RETENTIOND_LOG_LEVEL"] = "warn";
  sources.environment["RETENTIOND_DATABASE_SCHEMA"] = "from_env";
  sources.environment["PATH"] = "/usr/bin";  // not ours: ignored
  sources.overrides = {{"log.level", "error"}};

  Config config = load_config(sources);
  CHECK(config.log.level == "error");                                               // command line
  CHECK(config.database.schema == "from_env");                                      // environment
  CHECK(config.log.format == "json");                                               // file
  CHECK(config.database.connect_timeout == Duration(0, std::chrono::seconds(20)));  // file
  CHECK(config.retry.max_attempts == 10);                                           // default

  auto entries = describe_config(sources);
  CHECK(entry(entries, "log.level").source == "command line");
  CHECK(entry(entries, "database.schema").source == "env RETENTIOND_DATABASE_SCHEMA");
  CHECK(entry(entries, "log.format").source == "file");
  CHECK(entry(entries, "retry.max_attempts").source == "default");
}

TEST_CASE("config: a file with every type is read into the typed struct") {
  TempDir dir;
  Config config = load_config(with_file(dir,
                                        "database:\n"
                                        "  url: postgresql://app@db:5432/app\n"
                                        "  dialect: CrateDB\n"
                                        "  statement_timeout: 0s\n"
                                        "  lock_timeout: 0\n"
                                        "scheduler:\n"
                                        "  default_schedule: '*/5 * * * *'\n"
                                        "  max_concurrent_jobs: 8\n"
                                        "  jitter: 90 seconds\n"
                                        "retry:\n"
                                        "  max_attempts: 0\n"
                                        "ha:\n"
                                        "  enabled: no\n"
                                        "http:\n"
                                        "  enabled: false\n"
                                        "  listen: '[::1]:0'\n"
                                        "  status_token: s3cret\n"
                                        "audit:\n"
                                        "  keep: 6mo\n"));
  CHECK(config.database.url == "postgresql://app@db:5432/app");
  CHECK(config.database.dialect == "cratedb");  // choices are case-insensitive, stored lower-case
  CHECK(config.database.lock_timeout.is_zero());
  CHECK(config.scheduler.default_schedule == "*/5 * * * *");
  CHECK(config.scheduler.max_concurrent_jobs == 8);
  CHECK(config.scheduler.jitter == Duration(0, std::chrono::seconds(90)));
  CHECK(config.retry.max_attempts == 0);
  CHECK_FALSE(config.ha.enabled);
  CHECK_FALSE(config.http.enabled);
  CHECK(config.http.listen == "[::1]:0");
  CHECK(config.http.status_token == "s3cret");
  CHECK(config.audit.keep == Duration(6, std::chrono::seconds(0)));
}

TEST_CASE("config: an empty file or one with only comments means all defaults") {
  TempDir dir;
  CHECK(load_config(with_file(dir, "")).log.level == "info");
  CHECK(load_config(with_file(dir, "# nothing yet\n\n")).log.level == "info");
  CHECK(load_config(with_file(dir, "database:\nlog:\n")).database.schema == "retention");
}

TEST_CASE("config: the default file is read when it exists and -c is not given") {
  TempDir dir;
  ConfigSources sources = isolated(dir);
  sources.default_file = dir.write("default.yaml", "log:\n  level: trace\n");
  CHECK(load_config(sources).log.level == "trace");
}

TEST_CASE("config: a missing default file is fine, a missing -c file is an error naming it") {
  TempDir dir;
  CHECK_NOTHROW((void)load_config(isolated(dir)));
  ConfigSources sources = isolated(dir);
  sources.file = dir.path() / "typo.yaml";
  CHECK(load_error(sources) ==
        "cannot read config file \"" + (dir.path() / "typo.yaml").string() + "\": No such file or directory");
  sources.file = dir.path();
  CHECK(load_error(sources) == "cannot read config file \"" + dir.path().string() + "\": is a directory");
}

TEST_CASE("config: RETENTIOND_CONFIG names the file when -c is not given") {
  TempDir dir;
  ConfigSources sources = isolated(dir);
  sources.environment["RETENTIOND_CONFIG"] = dir.write("env.yaml", "log:\n  level: warn\n").string();
  CHECK(load_config(sources).log.level == "warn");

  sources.file = dir.write("cli.yaml", "log:\n  level: error\n");
  CHECK(load_config(sources).log.level == "error");  // -c wins

  ConfigSources missing = isolated(dir);
  missing.environment["RETENTIOND_CONFIG"] = (dir.path() / "gone.yaml").string();
  CHECK(load_error(missing) == "environment RETENTIOND_CONFIG: cannot read config file \"" +
                                   (dir.path() / "gone.yaml").string() + "\": No such file or directory");
}

TEST_CASE("config: an empty environment variable sets an empty value") {
  TempDir dir;
  ConfigSources sources = with_file(dir, "database:\n  url: postgresql://db/app\n");
  sources.environment["RETENTIOND_DATABASE_URL"] = "";
  CHECK(load_config(sources).database.url.empty());
  CHECK(env_error(dir, "RETENTIOND_SCHEDULER_JITTER", "")
            .starts_with("environment RETENTIOND_SCHEDULER_JITTER: "
                         "scheduler.jitter: "));
}

// ---- type errors ---------------------------------------------------------------------------

TEST_CASE("config: a non-integer names the key and the file line") {
  TempDir dir;
  CHECK(file_error(dir, "# jobs\n\nscheduler:\n  max_concurrent_jobs: two\n") ==
        at(dir, 4) + ": scheduler.max_concurrent_jobs: expected an integer, got \"two\"");
  CHECK(file_error(dir, "scheduler:\n  max_concurrent_jobs: 2.5\n") ==
        at(dir, 2) + ": scheduler.max_concurrent_jobs: expected an integer, got \"2.5\"");
}

TEST_CASE("config: integers outside their range are rejected") {
  TempDir dir;
  CHECK(file_error(dir, "scheduler:\n  max_concurrent_jobs: 0\n") ==
        at(dir, 2) + ": scheduler.max_concurrent_jobs must be between 1 and 1024, got 0");
  CHECK(env_error(dir, "RETENTIOND_RETRY_MAX_ATTEMPTS", "-1") ==
        "environment RETENTIOND_RETRY_MAX_ATTEMPTS: retry.max_attempts must be between 0 and 1000, got -1");
  CHECK(env_error(dir, "RETENTIOND_RETRY_MAX_ATTEMPTS", "99999999999999999999") ==
        "environment RETENTIOND_RETRY_MAX_ATTEMPTS: retry.max_attempts must be between 0 and 1000, got "
        "99999999999999999999");
}

TEST_CASE("config: an enum value outside its choices lists them") {
  TempDir dir;
  CHECK(
      env_error(dir, "RETENTIOND_LOG_LEVEL", "loud") ==
      "environment RETENTIOND_LOG_LEVEL: log.level must be one of trace|debug|info|warn|error, got \"loud\"");
  CHECK(file_error(dir, "database:\n  dialect: mysql\n") ==
        at(dir, 2) + ": database.dialect must be one of auto|postgresql|cratedb, got \"mysql\"");
  CHECK(file_error(dir, "log:\n  format: xml\n") ==
        at(dir, 2) + ": log.format must be one of auto|text|json, got \"xml\"");
}

TEST_CASE("config: a boolean must be true or false") {
  TempDir dir;
  CHECK(file_error(dir, "ha:\n  enabled: maybe\n") ==
        at(dir, 2) + ": ha.enabled: expected true or false, got \"maybe\"");
  ConfigSources sources = isolated(dir);
  sources.environment["RETENTIOND_HTTP_ENABLED"] = "0";
  CHECK_FALSE(load_config(sources).http.enabled);
}

TEST_CASE("config: a bad duration names the key and keeps the duration parser's reason") {
  TempDir dir;
  std::string message = file_error(dir, "database:\n  connect_timeout: 10x\n");
  CHECK(message.starts_with(at(dir, 2) + ": database.connect_timeout: "));
  CHECK(message.find("10x") != std::string::npos);
  CHECK(message.find('\n') == std::string::npos);
}

TEST_CASE("config: zero is refused where a duration must be positive and allowed where documented") {
  TempDir dir;
  CHECK(file_error(dir, "ha:\n  lease_ttl: 0s\n").starts_with(at(dir, 2) + ": ha.lease_ttl: "));
  CHECK(file_error(dir, "audit:\n  keep: 0d\n").starts_with(at(dir, 2) + ": audit.keep: "));
  Config config = load_config(with_file(dir,
                                        "database:\n  statement_timeout: 0s\n  lock_timeout: 0s\n"
                                        "scheduler:\n  jitter: 0s\n"));
  CHECK(config.database.statement_timeout.is_zero());
  CHECK(config.database.lock_timeout.is_zero());
  CHECK(config.scheduler.jitter.is_zero());
}

TEST_CASE("config: timing keys refuse months and years, audit.keep accepts them") {
  TempDir dir;
  CHECK(file_error(dir, "scheduler:\n  poll_interval: 1mo\n") ==
        at(dir, 2) + ": scheduler.poll_interval: duration \"1mo\" must not use months or years here");
  CHECK(load_config(with_file(dir, "audit:\n  keep: 1y\n")).audit.keep ==
        Duration(12, std::chrono::seconds(0)));
}

TEST_CASE("config: an invalid default schedule names the key") {
  TempDir dir;
  std::string message = file_error(dir, "scheduler:\n  default_schedule: '61 * * * *'\n");
  CHECK(message.starts_with(at(dir, 2) + ": scheduler.default_schedule: "));
  CHECK(message.find("61 * * * *") != std::string::npos);
  CHECK(load_config(with_file(dir, "scheduler:\n  default_schedule: '@every 10m'\n"))
            .scheduler.default_schedule == "@every 10m");
}

TEST_CASE("config: http.listen must be HOST:PORT with a port 0-65535") {
  TempDir dir;
  for (const char* bad : {"9464", ":9464", "127.0.0.1:", "127.0.0.1:65536", "127.0.0.1:http", "::1:9464",
                          "[]:1", "[::1:9464"}) {
    CAPTURE(bad);
    CHECK(env_error(dir, "RETENTIOND_HTTP_LISTEN", bad)
              .starts_with("environment RETENTIOND_HTTP_LISTEN: http.listen: invalid listen address \"" +
                           std::string(bad) + "\": "));
  }
  CHECK(parse_listen_address("[::1]:9464").host == "::1");
  CHECK(parse_listen_address("[::1]:9464").port == 9464);
  CHECK(parse_listen_address("0.0.0.0:0").port == 0);
  CHECK(parse_listen_address("metrics.local:65535").host == "metrics.local");
}

TEST_CASE("config: database.schema must be an identifier and is folded like PostgreSQL does") {
  TempDir dir;
  CHECK(
      file_error(dir, "database:\n  schema: 'my schema'\n").starts_with(at(dir, 2) + ": database.schema: "));
  CHECK(load_config(with_file(dir, "database:\n  schema: Retention\n")).database.schema == "retention");
  CHECK(load_config(with_file(dir, "database:\n  schema: '\"Retention\"'\n")).database.schema == "Retention");
}

TEST_CASE("config: an empty value is an empty string, and an error for a typed key") {
  TempDir dir;
  CHECK(load_config(with_file(dir, "http:\n  status_token:\n")).http.status_token.empty());
  CHECK(file_error(dir, "database:\n  connect_timeout:\nlog:\n  level: info\n")
            .starts_with(at(dir, 2) + ": database.connect_timeout: "));
}

TEST_CASE("config: retry.initial may not exceed retry.max") {
  TempDir dir;
  CHECK(file_error(dir, "retry:\n  initial: 1h\n") ==
        at(dir, 2) + ": retry.initial (1h) must not be greater than retry.max (30m)");
}

// ---- unknown keys and structure ------------------------------------------------------------

TEST_CASE("config: an unknown key in the file names it, its line and the likely key") {
  TempDir dir;
  CHECK(file_error(dir, "# database\n\n\n\n\ndatabase:\n  urll: x\n") ==
        at(dir, 7) + ": unknown key \"database.urll\" (did you mean \"database.url\"?)");
  CHECK(file_error(dir, "databse:\n  url: x\n") ==
        at(dir, 1) + ": unknown key \"databse\" (did you mean \"database\"?)");
  CHECK(file_error(dir, "metrics:\n  port: 1\n") == at(dir, 1) + ": unknown key \"metrics\"");
}

TEST_CASE("config: an unknown RETENTIOND_ variable is an error, RETENTIOND_CONFIG is not a key") {
  TempDir dir;
  CHECK(env_error(dir, "RETENTIOND_DATABASE_URLL", "x") ==
        "environment RETENTIOND_DATABASE_URLL: unknown variable; RETENTIOND_* variables must name a "
        "configuration "
        "key or be RETENTIOND_CONFIG (did you mean RETENTIOND_DATABASE_URL?)");
  CHECK(env_error(dir, "RETENTIOND_SCHEDULER_MAX_JOBS", "2")
            .starts_with("environment RETENTIOND_SCHEDULER_MAX_JOBS: unknown variable"));
  CHECK(env_error(dir, "RETENTIOND_", "2").starts_with("environment RETENTIOND_: unknown variable"));
  CHECK(suggest_environment_name("RETENTIOND_LOGLEVEL") == "RETENTIOND_LOG_LEVEL");
  CHECK(suggest_environment_name("RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_PTH") ==
        "RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_PATH");
  CHECK(suggest_environment_name("RETENTIOND_SOMETHING_ELSE").empty());
  ConfigSources sources = isolated(dir);
  sources.environment["RETENTIOND_CONFIG"] = "";
  sources.environment["RETENTIONDX"] = "not ours";
  CHECK_NOTHROW((void)load_config(sources));
}

TEST_CASE("config: an unknown key on the command line is an error") {
  TempDir dir;
  ConfigSources sources = isolated(dir);
  sources.overrides = {{"log.levle", "info"}};
  CHECK(load_error(sources) == "command line: unknown key \"log.levle\" (did you mean \"log.level\"?)");
  sources.overrides = {{"log.level", "loud"}};
  CHECK(load_error(sources) ==
        "command line: log.level must be one of trace|debug|info|warn|error, got \"loud\"");
}

TEST_CASE("config: a section that is not a map is an error naming it") {
  TempDir dir;
  CHECK(file_error(dir, "database: postgresql://x\n") ==
        at(dir, 1) + ": database: expected a map of keys, got a value \"postgresql://x\"");
  CHECK(file_error(dir, "log:\n  - level\n") == at(dir, 2) + ": log: expected a map of keys, got a list");
  CHECK(file_error(dir, "database: postgresql://u:pw@db/app\n") ==
        at(dir, 1) + ": database: expected a map of keys, got a value \"postgresql://u:***@db/app\"");
  CHECK(file_error(dir, "snapshot:\n  repositories: cold\n") ==
        at(dir, 2) + ": snapshot.repositories: expected a map of keys, got a value \"cold\"");
}

TEST_CASE("config: a list or map where a value belongs is an error naming the key") {
  TempDir dir;
  CHECK(file_error(dir, "log:\n  level: [info, debug]\n") ==
        at(dir, 2) + ": log.level: expected a single value, got a list");
  CHECK(file_error(dir, "database:\n  url:\n    host: db\n") ==
        at(dir, 3) + ": database.url: expected a single value, got a map");
}

TEST_CASE("config: the top level must be a map of sections") {
  TempDir dir;
  CHECK(file_error(dir, "- database\n") ==
        at(dir, 1) + ": expected sections such as database: and scheduler: at the top level, got a list");
  CHECK(file_error(dir, "hello\n").starts_with(at(dir, 1) + ": expected sections"));
}

TEST_CASE("config: dotted keys and duplicate keys are refused") {
  TempDir dir;
  CHECK(file_error(dir, "database.url: x\n") ==
        at(dir, 1) +
            ": key \"database.url\" must be written nested, one level per section (database:, then url: "
            "indented below it)");
  CHECK(file_error(dir, "log:\n  level: info\n  level: debug\n") ==
        at(dir, 3) + ": duplicate key \"log.level\" (first at " + at(dir, 2) + ")");
}

TEST_CASE("config: malformed YAML gives the line and yaml-cpp's message once") {
  TempDir dir;
  CHECK(file_error(dir, "log:\n  level: info\n format: text\n") ==
        at(dir, 3) + ": invalid YAML: end of map not found");
  CHECK(file_error(dir, "log: {level: info\n") == at(dir, 2) + ": invalid YAML: end of map flow not found");
  CHECK(file_error(dir, "log:\n  level: *nothing\n") ==
        at(dir, 2) + ": invalid YAML: the referenced anchor is not defined");
  CHECK(file_error(dir, "log:\n  level: info\n---\nlog:\n  level: debug\n") ==
        at(dir, 4) + ": expected one YAML document, found 2");
}

// ---- snapshot repositories -----------------------------------------------------------------

TEST_CASE("config: snapshot repositories are read from the file with compression defaulting to zstd") {
  TempDir dir;
  Config config = load_config(with_file(dir,
                                        "snapshot:\n"
                                        "  repositories:\n"
                                        "    cold:\n"
                                        "      path: /var/lib/retentiond/archive\n"
                                        "    warm-2:\n"
                                        "      path: /srv/warm\n"
                                        "      compression: none\n"));
  REQUIRE(config.snapshot.repositories.size() == 2);
  CHECK(config.snapshot.repositories.at("cold").path == "/var/lib/retentiond/archive");
  CHECK(config.snapshot.repositories.at("cold").compression == "zstd");
  CHECK(config.snapshot.repositories.at("warm-2").compression == "none");
}

TEST_CASE("config: repositories can be declared and overridden in the environment") {
  TempDir dir;
  ConfigSources sources = with_file(dir, "snapshot:\n  repositories:\n    cold:\n      path: /from/file\n");
  sources.environment["RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_COMPRESSION"] = "none";
  sources.environment["RETENTIOND_SNAPSHOT_REPOSITORIES_OFF_SITE_PATH"] = "/mnt/offsite";
  Config config = load_config(sources);
  CHECK(config.snapshot.repositories.at("cold").path == "/from/file");
  CHECK(config.snapshot.repositories.at("cold").compression == "none");
  CHECK(config.snapshot.repositories.at("off_site").path == "/mnt/offsite");
  CHECK(config.snapshot.repositories.at("off_site").compression == "zstd");

  sources.overrides = {{"snapshot.repositories.cold.path", "/from/cli"}};
  CHECK(load_config(sources).snapshot.repositories.at("cold").path == "/from/cli");

  auto entries = describe_config(sources);
  CHECK(entry(entries, "snapshot.repositories.cold.path").source == "command line");
  CHECK(entry(entries, "snapshot.repositories.cold.compression").source ==
        "env RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_COMPRESSION");
  CHECK(entry(entries, "snapshot.repositories.off_site.compression").source == "default");
}

TEST_CASE("config: a repository without a path is an error pointing at its declaration") {
  TempDir dir;
  CHECK(file_error(dir, "snapshot:\n  repositories:\n    cold:\n      compression: none\n") ==
        at(dir, 3) + ": snapshot.repositories.cold.path is required");
  CHECK(file_error(dir, "snapshot:\n  repositories:\n    cold:\n") ==
        at(dir, 3) + ": snapshot.repositories.cold.path is required");
  CHECK(file_error(dir, "snapshot:\n  repositories:\n    cold:\n      path: ''\n") ==
        at(dir, 4) + ": snapshot.repositories.cold.path is required and must not be empty");
  CHECK(env_error(dir, "RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_COMPRESSION", "zstd") ==
        "environment RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_COMPRESSION: snapshot.repositories.cold.path is "
        "required");
}

TEST_CASE("config: repository names must match [a-z0-9_-]+") {
  TempDir dir;
  CHECK(file_error(dir, "snapshot:\n  repositories:\n    Cold:\n      path: /x\n") ==
        at(dir, 3) + ": snapshot repository name \"Cold\" must match [a-z0-9_-]+");
  CHECK(env_error(dir, "RETENTIOND_SNAPSHOT_REPOSITORIES_A.B_PATH", "/x") ==
        "environment RETENTIOND_SNAPSHOT_REPOSITORIES_A.B_PATH: snapshot repository name \"a.b\" must match "
        "[a-z0-9_-]+");
  CHECK(env_error(dir, "RETENTIOND_SNAPSHOT_REPOSITORIES_cold_PATH", "/x")
            .starts_with("environment RETENTIOND_SNAPSHOT_REPOSITORIES_cold_PATH: unknown variable"));
  CHECK(file_error(dir, "snapshot:\n  repositories:\n    cold:\n      pth: /x\n") ==
        at(dir, 4) +
            ": unknown key \"snapshot.repositories.cold.pth\" (did you mean "
            "\"snapshot.repositories.cold.path\"?)");
}

// ---- describe_config -----------------------------------------------------------------------

TEST_CASE("config: describe lists every key in table order with secrets redacted") {
  TempDir dir;
  ConfigSources sources = with_file(dir,
                                    "database:\n"
                                    "  url: postgresql://app:hunter2@db/app\n"
                                    "  lock_timeout: 300s\n"
                                    "snapshot:\n"
                                    "  repositories:\n"
                                    "    warm:\n"
                                    "      path: /w\n"
                                    "    cold:\n"
                                    "      path: /c\n");
  sources.environment["RETENTIOND_HTTP_STATUS_TOKEN"] = "t0ken";
  auto entries = describe_config(sources);

  std::vector<std::string> keys;
  for (const ConfigEntry& e : entries) {
    keys.push_back(e.key);
    CHECK(e.value.find("hunter2") == std::string::npos);
    CHECK(e.value.find("t0ken") == std::string::npos);
    CHECK(!e.description.empty());
  }
  std::vector<std::string> expected;
  for (const ConfigKey& key : config_keys()) {
    if (!is_instance_key(key)) expected.emplace_back(key.name);
    if (key.name == "snapshot.repositories.<NAME>.compression") {
      for (const char* repository : {"cold", "warm"}) {
        expected.push_back(std::string("snapshot.repositories.") + repository + ".path");
        expected.push_back(std::string("snapshot.repositories.") + repository + ".compression");
      }
    }
  }
  CHECK(keys == expected);
  CHECK(entry(entries, "database.url").value == "postgresql://app:***@db/app");
  CHECK(entry(entries, "database.url").source == "file");
  CHECK(entry(entries, "http.status_token").value == "***");
  CHECK(entry(entries, "database.lock_timeout").value == Duration(0, std::chrono::minutes(5)).to_string());
  CHECK(entry(describe_config(isolated(dir)), "http.status_token").value.empty());
}

TEST_CASE("config: errors never escape as anything but a usage Error") {
  TempDir dir;
  for (const char* text :
       {"\t\x01\x02: [\n", "{{{{", "a: &x [*x]\n", "? [a, b]\n: c\n", "log: !!binary AAAA\n"}) {
    CAPTURE(text);
    try {
      (void)load_config(with_file(dir, text));
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::usage);
      CHECK(std::string(e.what()).find('\n') == std::string::npos);
    } catch (...) {
      FAIL("escaped as something else");
    }
  }
}

TEST_CASE("config: process_environment collects only RETENTIOND_ variables") {
  ::setenv("RETENTIOND_UNIT_TEST_PROBE", "a=b", 1);
  auto environment = process_environment();
  ::unsetenv("RETENTIOND_UNIT_TEST_PROBE");
  CHECK(environment.at("RETENTIOND_UNIT_TEST_PROBE") == "a=b");
  for (const auto& [name, value] : environment) CHECK(name.starts_with("RETENTIOND_"));
}

// ---- shipped files stay in step with the table ---------------------------------------------

TEST_CASE("config: the example config file loads and sets every key to its default") {
  TempDir dir;
  const fs::path example = repository_root() / "config" / "retentiond.yaml";
  ConfigSources sources = isolated(dir);
  sources.file = example;
  auto entries = describe_config(sources);

  YAML::Node root = YAML::LoadFile(example.string());
  for (const ConfigKey& key : config_keys()) {
    std::string name = instantiate_key_name(key, "cold");
    CAPTURE(name);
    // Walk the nesting; YAML::Node's operator= rebinds, so keep a vector of the path instead.
    std::vector<YAML::Node> path{root};
    std::stringstream segments(name);
    for (std::string segment; std::getline(segments, segment, '.');) {
      REQUIRE(path.back().IsMap());
      path.push_back(path.back()[segment]);
      REQUIRE(path.back().IsDefined());
    }
    const ConfigEntry& e = entry(entries, name);
    CHECK(e.source == "file");
    if (!key.required) {
      Config defaults;
      store_config_value(key, defaults, "cold", key.default_text);
      CHECK(e.value == format_config_value(key, defaults, "cold"));
    }
  }
  CHECK(entry(entries, "snapshot.repositories.cold.path").value == "/var/lib/retentiond/archive");
}

TEST_CASE("config: docs/configuration.md holds exactly the reference generated from the key table") {
  const std::string doc = read_text(repository_root() / "docs" / "configuration.md");
  const std::string begin = "<!-- BEGIN KEYS -->\n";
  const std::string end = "<!-- END KEYS -->";
  std::size_t from = doc.find(begin);
  std::size_t to = doc.find(end);
  REQUIRE(from != std::string::npos);
  REQUIRE(to != std::string::npos);
  REQUIRE(from < to);
  const std::string generated = render_config_reference_markdown();
  INFO("regenerate the table between the markers from render_config_reference_markdown():\n" << generated);
  CHECK(doc.substr(from + begin.size(), to - from - begin.size()) == generated);
}
