// The snapshot strategy and `retentiond restore` against a real server: first the component
// (snapshot_partition() with a hand-built action), then end to end through the binary.
#include "retentiond/engine/snapshot.hpp"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/archive/archive_reader.hpp"
#include "retentiond/archive/manifest.hpp"
#include "support/cli_fixture.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;
using namespace retentiond;

namespace {

// A private repository directory for one test case.
struct TempRepository {
  fs::path path;
  TempRepository() {
    std::string pattern = (fs::temp_directory_path() / "retentiond-repo-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempRepository() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempRepository(const TempRepository&) = delete;
  TempRepository& operator=(const TempRepository&) = delete;

  // Every file below the repository, relative, sorted.
  [[nodiscard]] std::vector<std::string> files() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::recursive_directory_iterator(path)) {
      if (entry.is_regular_file()) out.push_back(fs::relative(entry.path(), path).string());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
};

// Names that need quoting everywhere, and a partition name with a slash (a file-name hazard).
const QualifiedName kParent{"Odd \"Schema\"", "Metrics Raw"};
const QualifiedName kPartition{"Odd \"Schema\"", "p/2024-01-01"};
const QualifiedName kLivePartition{"Odd \"Schema\"", "p/2024-01-02"};

// Rows with every value COPY text format must escape (newline, tab, backslash, NULL, empty
// string, non-ASCII), and a generated column, which COPY leaves out.
void make_odd_table(const CliFixture& f) {
  f.pg.execute(
      "CREATE SCHEMA " + quote_identifier(kParent.schema) + ";" + "CREATE TABLE " + kParent.quoted() +
      " (ts timestamptz NOT NULL, \"Value\" numeric(10,2), note text, "
      "doubled numeric GENERATED ALWAYS AS (\"Value\" * 2) STORED) PARTITION BY RANGE (ts);" +
      "CREATE TABLE " + kPartition.quoted() + " PARTITION OF " + kParent.quoted() +
      " FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');" + "CREATE TABLE " + kLivePartition.quoted() +
      " PARTITION OF " + kParent.quoted() + " FOR VALUES FROM ('2024-01-02') TO ('2024-01-03');" +
      "INSERT INTO " + kParent.quoted() +
      " (ts, \"Value\", note) SELECT t, extract(minute FROM t), "
      "CASE extract(minute FROM t)::int % 5 WHEN 0 THEN E'two\\nlines' WHEN 1 THEN E'tab\\there' "
      "WHEN 2 THEN E'back\\\\slash' WHEN 3 THEN NULL ELSE 'größe ✓' END "
      "FROM generate_series('2024-01-01'::timestamptz, '2024-01-02 23:59', '1 minute') t;" +
      "INSERT INTO " + kParent.quoted() + " (ts, \"Value\", note) VALUES ('2024-01-01 12:00:30', NULL, '')");
}

// Order-independent fingerprint of a table's rows: the same rows give the same text.
std::string checksum(const CliFixture& f, const std::string& table) {
  return f.pg.scalar("SELECT count(*) || ':' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM " +
                     table + " t");
}

// A SQL string literal (test names hold quotes but no backslashes).
std::string literal(const std::string& text) {
  std::string out = "'";
  for (char c : text) out += c == '\'' ? std::string("''") : std::string(1, c);
  return out + "'";
}

std::string bound_of(const CliFixture& f, const QualifiedName& table) {
  return f.pg.scalar(
      "SELECT coalesce(pg_get_expr(relpartbound, oid), '') FROM pg_class WHERE oid = to_regclass(" +
      literal(table.quoted()) + ")");
}

bool exists(const CliFixture& f, const QualifiedName& table) {
  return f.pg.scalar("SELECT to_regclass(" + literal(table.quoted()) + ") IS NOT NULL") == "t";
}

Action snapshot_action(const QualifiedName& table, const QualifiedName& partition) {
  Action action{.policy_id = "odd-snapshot",
                .strategy = "snapshot",
                .table = table,
                .partition = partition,
                .kind = ActionKind::snapshot_partition,
                .action = "snapshot",
                .sql = {"COPY " + partition.quoted() + " TO STDOUT", "DROP TABLE " + partition.quoted()},
                .params = {},
                .reason = "test",
                .lower = parse_utc("2024-01-01T00:00:00Z"),
                .upper = parse_utc("2024-01-02T00:00:00Z"),
                .size_bytes = 0,
                .target = "cold",
                .batch_size = 0,
                .transaction = 0,
                .lock_timeout = 5s};
  return action;
}

Config::Database database_of(const CliFixture& f) {
  Config::Database database;
  database.url = f.pg.url();
  return database;
}

}  // namespace

TEST_CASE(
    "snapshot: a partition is archived with a verified manifest, dropped, and restore brings back the same "
    "rows") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  const std::string before = checksum(f, kPartition.quoted());
  const std::string bound = bound_of(f, kPartition);
  const std::string live_before = checksum(f, kLivePartition.quoted());

  const SnapshotOutcome outcome = snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                                                     RepositoryConfig{repo.path.string(), "zstd"});
  CHECK(outcome.rows == 1441);
  CHECK_FALSE(exists(f, kPartition));
  CHECK(checksum(f, kLivePartition.quoted()) == live_before);
  // Both files in <repo>/<schema>/<table>/, the slash percent-encoded, nothing temporary left.
  CHECK(repo.files() == std::vector<std::string>{"Odd \"Schema\"/Metrics Raw/p%2F2024-01-01.copy.zst",
                                                 "Odd \"Schema\"/Metrics Raw/p%2F2024-01-01.manifest.json"});
  CHECK(outcome.manifest == repo.path / "Odd \"Schema\"" / "Metrics Raw" / "p%2F2024-01-01.manifest.json");

  const Manifest manifest = read_manifest(outcome.manifest);
  CHECK(manifest.table == kParent);
  CHECK(manifest.partition == kPartition);
  CHECK(manifest.bound_text == bound);
  CHECK(manifest.row_count == 1441);
  CHECK(manifest.bytes == outcome.bytes);
  CHECK(manifest.retentiond_version == RETENTIOND_VERSION);
  CHECK(manifest.columns == std::vector<ColumnDefinition>{{"ts", "timestamp with time zone", true},
                                                          {"Value", "numeric(10,2)", false},
                                                          {"note", "text", false}});
  const ArchiveSummary archive =
      read_archive(outcome.manifest.parent_path() / manifest.data_file, Compression::zstd);
  CHECK(archive.sha256 == manifest.sha256);
  CHECK(archive.rows == 1441);

  // Restore re-creates the partition under its name, attached with its bounds, same rows.
  auto restored = f.rd({"restore", outcome.manifest.string(), "-o", "json"});
  REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
  const auto report = nlohmann::json::parse(restored.out);
  CHECK(report["rows"] == 1441);
  CHECK(report["table"] == kPartition.display());
  CHECK(report["attached_to"] == kParent.display());
  CHECK(exists(f, kPartition));
  CHECK(bound_of(f, kPartition) == bound);
  CHECK(checksum(f, kPartition.quoted()) == before);

  // A second restore finds the table in place and changes nothing.
  auto again = f.rd({"restore", outcome.manifest.string()});
  CHECK(again.exit_code == 2);
  CHECK(is_one_line(again.err));
  CHECK(again.err.find("already exists") != std::string::npos);
  CHECK(checksum(f, kPartition.quoted()) == before);
}

TEST_CASE("snapshot: an uncompressed repository round-trips too") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  const std::string before = checksum(f, kPartition.quoted());
  const auto outcome = snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                                          RepositoryConfig{repo.path.string(), "none"});
  CHECK(repo.files() == std::vector<std::string>{"Odd \"Schema\"/Metrics Raw/p%2F2024-01-01.copy",
                                                 "Odd \"Schema\"/Metrics Raw/p%2F2024-01-01.manifest.json"});
  auto restored = f.rd({"restore", outcome.manifest.string()});
  REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
  CHECK(restored.out.find("restored 1441 rows into") != std::string::npos);
  CHECK(checksum(f, kPartition.quoted()) == before);
}

TEST_CASE("snapshot: a writer holding a lock makes the snapshot give up and keep the partition") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  pqxx::connection writer(f.pg.conninfo());
  pqxx::work hold(writer);
  hold.exec("LOCK TABLE " + kPartition.quoted() + " IN ROW EXCLUSIVE MODE");

  Action action = snapshot_action(kParent, kPartition);
  action.lock_timeout = 200ms;
  CHECK_THROWS_WITH_AS(
      snapshot_partition(database_of(f), action, RepositoryConfig{repo.path.string(), "zstd"}),
      doctest::Contains("lock timeout"), std::runtime_error);
  hold.abort();
  CHECK(exists(f, kPartition));
  CHECK(repo.files().empty());
}

TEST_CASE("snapshot: an unwritable repository fails with one line and keeps the partition") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  std::ofstream(repo.path / "a-file") << "x";
  try {
    (void)snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                             RepositoryConfig{(repo.path / "a-file" / "archive").string(), "zstd"});
    FAIL("snapshot_partition should have thrown");
  } catch (const std::runtime_error& e) {
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    CHECK(std::string(e.what()).find("a-file") != std::string::npos);
    CHECK(std::string(e.what()).find("postgres") == std::string::npos);  // no connection details
  }
  CHECK(exists(f, kPartition));
}

TEST_CASE("snapshot: leftovers of an interrupted run are cleared and an unclaimed data file is replaced") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  const auto paths = archive_paths(repo.path, kParent, kPartition, Compression::zstd);
  fs::create_directories(paths.directory);
  std::ofstream(paths.data.string() + ".tmp-999999") << "half a copy";
  std::ofstream(paths.manifest.string() + ".tmp-999999") << "{";
  std::ofstream(paths.data) << "a complete file of an attempt that crashed before its manifest";
  std::ofstream(paths.directory / "other.copy.zst.tmp-999999") << "another partition's";

  const auto outcome = snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                                          RepositoryConfig{repo.path.string(), "zstd"});
  CHECK(outcome.rows == 1441);
  CHECK(repo.files() == std::vector<std::string>{"Odd \"Schema\"/Metrics Raw/other.copy.zst.tmp-999999",
                                                 "Odd \"Schema\"/Metrics Raw/p%2F2024-01-01.copy.zst",
                                                 "Odd \"Schema\"/Metrics Raw/p%2F2024-01-01.manifest.json"});
  CHECK(read_manifest(paths.manifest).row_count == 1441);
}

TEST_CASE("snapshot: restore of a damaged archive, a bad manifest or a missing file changes nothing") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  const auto outcome = snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                                          RepositoryConfig{repo.path.string(), "zstd"});
  const fs::path data = outcome.manifest.parent_path() / read_manifest(outcome.manifest).data_file;
  const auto tables_before = f.pg.scalar("SELECT count(*) FROM pg_class");

  SUBCASE("checksum mismatch") {
    std::string bytes;
    {
      std::ifstream in(data, std::ios::binary);
      std::ostringstream s;
      s << in.rdbuf();
      bytes = s.str();
    }
    bytes[bytes.size() / 2] = static_cast<char>(bytes[bytes.size() / 2] ^ 0x01);
    std::ofstream(data, std::ios::binary | std::ios::trunc) << bytes;
    auto result = f.rd({"restore", outcome.manifest.string()});
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(
        (result.err.find("sha256") != std::string::npos || result.err.find("corrupt") != std::string::npos));
  }
  SUBCASE("missing data file") {
    fs::remove(data);
    auto result = f.rd({"restore", outcome.manifest.string()});
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("No such file") != std::string::npos);
  }
  SUBCASE("manifest that is not one") {
    std::ofstream(outcome.manifest, std::ios::trunc) << "{\"format_version\": 1}";
    auto result = f.rd({"restore", outcome.manifest.string()});
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("missing field") != std::string::npos);
  }
  SUBCASE("no manifest at all") {
    auto result = f.rd({"restore", (repo.path / "nope.manifest.json").string()});
    CHECK(result.exit_code == 2);
    CHECK(is_one_line(result.err));
    auto none = f.rd({"restore"});
    CHECK(none.exit_code == 2);
  }
  SUBCASE("database unreachable") {
    auto result = retentiond::testing::run_retentiond(
        {"--database-url", "postgresql://app:s3cret@/app?host=/nonexistent-retentiond-socket", "restore",
         outcome.manifest.string()});
    CHECK(result.exit_code == 3);
    CHECK(is_one_line(result.err));
    CHECK(result.err.find("s3cret") == std::string::npos);
  }
  CHECK_FALSE(exists(f, kPartition));
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_class") == tables_before);
}

TEST_CASE("snapshot: restore --into loads the rows into another table, created when missing") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  // Fingerprint without the generated column, which a standalone copy does not have.
  const auto plain = [&](const std::string& table) {
    return f.pg.scalar(
        "SELECT count(*) || ':' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM (SELECT ts, "
        "\"Value\", note FROM " +
        table + ") t");
  };
  const std::string expected = plain(kPartition.quoted());
  const auto outcome = snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                                          RepositoryConfig{repo.path.string(), "zstd"});

  auto created =
      f.rd({"restore", outcome.manifest.string(), "--into", "public.\"Look Back\"", "-o", "compact"});
  REQUIRE_MESSAGE(created.exit_code == 0, created.err);
  CHECK(created.out.find("created=true") != std::string::npos);
  CHECK(plain("public.\"Look Back\"") == expected);
  CHECK(f.pg.scalar(
            "SELECT string_agg(attname || ' ' || format_type(atttypid, atttypmod) || ' ' || attnotnull, ', ' "
            "ORDER BY attnum) FROM pg_attribute WHERE attrelid = 'public.\"Look Back\"'::regclass AND attnum "
            "> 0") == "ts timestamp with time zone true, Value numeric(10,2) false, note text false");
  CHECK_FALSE(exists(f, kPartition));

  // Into an existing table: appended.
  auto appended = f.rd({"restore", outcome.manifest.string(), "--into", "public.\"Look Back\""});
  REQUIRE_MESSAGE(appended.exit_code == 0, appended.err);
  CHECK(f.pg.scalar("SELECT count(*) FROM public.\"Look Back\"") == "2882");
}

TEST_CASE("snapshot: restore brings a partition whose parent is gone back as a table of its own") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  const auto outcome = snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                                          RepositoryConfig{repo.path.string(), "zstd"});
  f.pg.execute("DROP TABLE " + kParent.quoted());
  auto result = f.rd({"restore", outcome.manifest.string(), "-o", "json"});
  REQUIRE_MESSAGE(result.exit_code == 0, result.err);
  CHECK(nlohmann::json::parse(result.out)["attached_to"].is_null());
  CHECK(exists(f, kPartition));
  CHECK(bound_of(f, kPartition).empty());
  CHECK(f.pg.scalar("SELECT count(*) FROM " + kPartition.quoted()) == "1441");
}

// End to end: the real binary plans and runs the snapshot strategy (`run --once`), then restores.
namespace {

// Daily partitions 2024-01-01 .. 2024-01-10 of public.metrics with a row a minute; with
// --as-of 2024-01-11 and ttl 5d, Jan 1-5 are expired.
void make_daily_metrics(const CliFixture& f) {
  std::string sql =
      "CREATE TABLE public.metrics (ts timestamptz NOT NULL, v int, note text) PARTITION BY RANGE (ts);";
  for (int day = 1; day <= 10; ++day) {
    char create[256];
    std::snprintf(create, sizeof create,
                  "CREATE TABLE public.\"Metrics %02d\" PARTITION OF public.metrics "
                  "FOR VALUES FROM ('2024-01-%02d') TO ('2024-01-%02d');",
                  day, day, day + 1);
    sql += create;
  }
  sql +=
      "INSERT INTO public.metrics SELECT t, extract(minute FROM t), CASE WHEN extract(minute FROM t) = 7 "
      "THEN E'multi\\nline' END FROM generate_series('2024-01-01'::timestamptz, '2024-01-10 23:59', '1 "
      "minute') t;";
  f.pg.execute(sql);
}

std::vector<fs::path> files_ending(const fs::path& root, std::string_view suffix) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.is_regular_file() && entry.path().filename().string().ends_with(suffix))
      out.push_back(entry.path());
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::vector<fs::path> temporaries(const fs::path& root) {
  std::vector<fs::path> out;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    if (entry.path().filename().string().find(".tmp-") != std::string::npos) out.push_back(entry.path());
  }
  return out;
}

}  // namespace

TEST_CASE(
    "snapshot: run --once archives exactly the expired partitions and restore gives back identical rows") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute("DROP TABLE public.metrics");
  make_daily_metrics(f);
  TempRepository repo;
  const std::map<std::string, std::string> env{
      {"RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_PATH", repo.path.string()}};
  REQUIRE(f.rd({"ttl", "public.metrics", "snapshot:cold", "5d"}, env).exit_code == 0);
  std::map<int, std::string> before;
  for (int day = 1; day <= 5; ++day)
    before[day] = checksum(f, "public.\"Metrics 0" + std::to_string(day) + "\"");

  auto run = f.rd({"run", "--once", "--as-of", "2024-01-11", "-o", "json"}, env);
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  const auto report = nlohmann::json::parse(run.out);
  REQUIRE(report["actions"].size() == 5);
  for (const auto& action : report["actions"]) {
    CHECK(action["action"] == "snapshot");
    CHECK(action["status"] == "succeeded");
    CHECK(action["rows"] == 1440);
  }
  CHECK(f.pg.scalar("SELECT string_agg(c.relname, ',' ORDER BY c.relname) FROM pg_inherits i JOIN pg_class c "
                    "ON c.oid = i.inhrelid WHERE i.inhparent = 'public.metrics'::regclass") ==
        "Metrics 06,Metrics 07,Metrics 08,Metrics 09,Metrics 10");
  CHECK(
      f.pg.scalar("SELECT string_agg(status || ':' || rows_affected || ':' || (bytes > 0), ',') FROM "
                  "retention.jobs_log WHERE action = 'snapshot'") ==
      "succeeded:1440:true,succeeded:1440:true,succeeded:1440:true,succeeded:1440:true,succeeded:1440:true");
  const auto manifests = files_ending(repo.path, ".manifest.json");
  REQUIRE(manifests.size() == 5);
  CHECK(temporaries(repo.path).empty());

  // A second run right after finds nothing to do.
  auto second = f.rd({"run", "--once", "--as-of", "2024-01-11", "-o", "json"}, env);
  CHECK(second.exit_code == 0);
  CHECK(nlohmann::json::parse(second.out)["actions"].empty());

  for (int day = 1; day <= 5; ++day) {
    CAPTURE(day);
    auto restored = f.rd({"restore", manifests[static_cast<std::size_t>(day - 1)].string()});
    REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
    CHECK(checksum(f, "public.\"Metrics 0" + std::to_string(day) + "\"") == before[day]);
  }
  CHECK(
      checksum(f, "public.metrics") ==
      f.pg.scalar(
          "SELECT 14400 || ':' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM (SELECT ts, "
          "extract(minute FROM ts)::int AS v, CASE WHEN extract(minute FROM ts) = 7 THEN E'multi\\nline' END "
          "AS note FROM generate_series('2024-01-01'::timestamptz, '2024-01-10 23:59', '1 minute') ts) t"));
}

TEST_CASE(
    "snapshot: kill -9 during the copy leaves the partition and no manifest, and the next run completes") {
  CliFixture f;
  f.setup_with_sample_tables();
  // Large enough that the COPY takes seconds, so the kill lands in the middle of it.
  f.pg.execute(R"sql(
    CREATE TABLE public.big (ts timestamptz NOT NULL, id bigint, payload text) PARTITION BY RANGE (ts);
    CREATE TABLE public.big_p20240101 PARTITION OF public.big FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
    CREATE TABLE public.big_p20240110 PARTITION OF public.big FOR VALUES FROM ('2024-01-10') TO ('2024-01-11');
    INSERT INTO public.big SELECT '2024-01-01'::timestamptz + (i % 86400) * interval '1 second', i,
      md5(i::text) || md5((i + 1)::text) FROM generate_series(1, 1500000) i;
  )sql");
  TempRepository repo;
  const std::map<std::string, std::string> env{
      {"RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_PATH", repo.path.string()}};
  REQUIRE(f.rd({"ttl", "public.big", "snapshot:cold", "5d"}, env).exit_code == 0);
  const std::string before = checksum(f, "public.big_p20240101");

  auto child = retentiond::testing::spawn_retentiond(
      {"--database-url", f.pg.url(), "run", "--once", "--as-of", "2024-01-11"}, env);
  // Mid-copy: the temporary data file exists and has grown; the final name does not exist yet.
  bool copying = false;
  for (auto deadline = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < deadline;) {
    for (const auto& tmp : temporaries(repo.path)) {
      std::error_code ec;
      if (tmp.string().find(".copy.zst.tmp-") != std::string::npos && fs::file_size(tmp, ec) > (256u << 10)) {
        copying = true;
      }
    }
    if (copying || !child->running()) break;
    std::this_thread::sleep_for(2ms);
  }
  REQUIRE_MESSAGE(copying, (std::string("the copy was never seen in progress: ") + child->err()));
  child->send_signal(SIGKILL);
  const auto killed = child->wait(30s);
  CHECK(killed.exit_code == 128 + SIGKILL);

  CHECK(exists(f, QualifiedName{"public", "big_p20240101"}));
  CHECK(files_ending(repo.path, ".manifest.json").empty());
  CHECK(files_ending(repo.path, ".copy.zst").empty());

  auto next = retentiond::testing::run_retentiond(
      {"--database-url", f.pg.url(), "run", "--once", "--as-of", "2024-01-11", "-o", "json"}, env, 180s);
  REQUIRE_MESSAGE(next.exit_code == 0, next.err);
  CHECK_FALSE(exists(f, QualifiedName{"public", "big_p20240101"}));
  const auto manifests = files_ending(repo.path, ".manifest.json");
  REQUIRE(manifests.size() == 1);
  CHECK(temporaries(repo.path).empty());  // the killed run's leftover is gone
  CHECK(read_manifest(manifests[0]).row_count == 1500000);
  CHECK(f.pg.scalar(
            "SELECT string_agg(status, ',' ORDER BY id) FROM retention.jobs_log WHERE action = 'snapshot'") ==
        "abandoned,succeeded");

  auto restored = retentiond::testing::run_retentiond(
      {"--database-url", f.pg.url(), "restore", manifests[0].string()}, {}, 180s);
  REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
  CHECK(checksum(f, "public.big_p20240101") == before);
}

TEST_CASE(
    "snapshot: an archive made under one DateStyle and time zone restores the same rows under another") {
  CliFixture f;
  make_odd_table(f);
  TempRepository repo;
  const std::string before = checksum(f, kPartition.quoted());
  const std::string bound = bound_of(f, kPartition);
  // The role's settings reach every new session, the snapshot's own among them.
  f.pg.execute(
      "ALTER ROLE CURRENT_USER SET DateStyle = 'SQL, DMY';"
      "ALTER ROLE CURRENT_USER SET TimeZone = 'America/New_York'");
  const auto outcome = snapshot_partition(database_of(f), snapshot_action(kParent, kPartition),
                                          RepositoryConfig{repo.path.string(), "zstd"});
  CHECK(read_manifest(outcome.manifest).bound_text == bound);  // ISO, UTC: as the catalog reads it
  f.pg.execute(
      "ALTER ROLE CURRENT_USER SET DateStyle = 'SQL, MDY';"
      "ALTER ROLE CURRENT_USER SET TimeZone = 'Asia/Tokyo'");
  auto restored = f.rd({"restore", outcome.manifest.string()});
  CHECK_MESSAGE(restored.exit_code == 0, restored.err);
  f.pg.execute("ALTER ROLE CURRENT_USER RESET DateStyle; ALTER ROLE CURRENT_USER RESET TimeZone");
  CHECK(checksum(f, kPartition.quoted()) == before);
  CHECK(bound_of(f, kPartition) == bound);
}
