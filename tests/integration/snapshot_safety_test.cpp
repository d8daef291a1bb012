// Snapshot archives that must not lose data or run code: one archive per incarnation of a
// partition name, restore that trusts nothing in a manifest, and a COPY that stops in time.
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

#include "retentiond/archive/archive_slot.hpp"
#include "retentiond/archive/manifest.hpp"
#include "retentiond/archive/sha256.hpp"
#include "support/cli_fixture.hpp"
#include "support/snapshot_repository.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using retentiond::testing::CliFixture;
using retentiond::testing::is_one_line;
using retentiond::testing::Repository;
using namespace retentiond;

namespace {

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// md5 over the rows in order: the same rows give the same text.
std::string fingerprint(const CliFixture& f, const std::string& table) {
  return f.pg.scalar("SELECT count(*) || ':' || md5(string_agg(t::text, E'\\n' ORDER BY t::text)) FROM " +
                     table + " t");
}

bool exists(const CliFixture& f, const std::string& table) {
  return f.pg.scalar("SELECT to_regclass('" + table + "') IS NOT NULL") == "t";
}

// public.metrics with a partition for 2024-01-01 holding rows that depend on `generation`, and
// one for 2024-01-10 that does not expire with --as-of 2024-01-11 and ttl 5d.
void make_metrics(const CliFixture& f, int generation) {
  f.pg.execute(
      "CREATE TABLE public.metrics (ts timestamptz NOT NULL, v int, note text) PARTITION BY RANGE (ts);"
      "CREATE TABLE public.metrics_p20240101 PARTITION OF public.metrics FOR VALUES FROM ('2024-01-01') TO "
      "('2024-01-02');"
      "CREATE TABLE public.metrics_p20240110 PARTITION OF public.metrics FOR VALUES FROM ('2024-01-10') TO "
      "('2024-01-11');"
      "INSERT INTO public.metrics SELECT t, " +
      std::to_string(generation) + " * extract(minute FROM t)::int, 'generation " +
      std::to_string(generation) + "' FROM generate_series('2024-01-01'::timestamptz, '2024-01-01 23:59', '" +
      (generation == 1 ? "1 minute" : "7 minutes") + "') t");
}

// What an attacker who can write the repository does: edit the manifest and recompute its
// checksum, so that only restore's own checks stand in the way.
void tamper(const fs::path& manifest, const std::function<void(nlohmann::ordered_json&)>& edit,
            bool recompute = true) {
  auto document = nlohmann::ordered_json::parse(slurp(manifest));
  edit(document);
  if (recompute && document.contains("manifest_sha256")) {
    document.erase("manifest_sha256");
    document["manifest_sha256"] = sha256_hex(document.dump());
  }
  std::ofstream(manifest, std::ios::trunc) << document.dump(2) << "\n";
}

// Snapshot of public.metrics_p20240101 through the binary; returns its manifest.
fs::path archive_once(const CliFixture& f, const Repository& repo) {
  auto run = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  REQUIRE_FALSE(exists(f, "public.metrics_p20240101"));
  const auto manifests = repo.ending(".manifest.json");
  REQUIRE(!manifests.empty());
  return manifests.back();
}

std::string large_objects(const CliFixture& f) {
  return f.pg.scalar("SELECT count(*) FROM pg_largeobject_metadata");
}

}  // namespace

TEST_CASE(
    "snapshot safety: a re-created table's partition of the same name is archived beside the older archive, "
    "and each restores its own rows") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute("DROP TABLE public.metrics");
  Repository repo;
  make_metrics(f, 1);
  REQUIRE(f.rd({"ttl", "public.metrics", "snapshot:cold", "5d", "--id", "cold"}, repo.env()).exit_code == 0);
  const std::string first_rows = fingerprint(f, "public.metrics_p20240101");
  const fs::path first = archive_once(f, repo);
  const std::string first_manifest = slurp(first);
  const std::string first_data = slurp(first.parent_path() / read_manifest(first).data_file);

  // The table is dropped and made again under the same names, with other rows, and expires again.
  f.pg.execute("DROP TABLE public.metrics");
  make_metrics(f, 2);
  const std::string second_rows = fingerprint(f, "public.metrics_p20240101");
  REQUIRE(second_rows != first_rows);
  auto run = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  CHECK(run.err.find("snapshot.stored_beside") != std::string::npos);

  const auto manifests = repo.ending(".manifest.json");
  REQUIRE(manifests.size() == 2);
  CHECK(slurp(first) == first_manifest);  // the older archive is untouched
  CHECK(slurp(first.parent_path() / read_manifest(first).data_file) == first_data);
  const fs::path second = manifests[0] == first ? manifests[1] : manifests[0];
  const Manifest older = read_manifest(first);
  const Manifest newer = read_manifest(second);
  REQUIRE(older.identity);
  REQUIRE(newer.identity);
  CHECK(older.identity->partition_oid != newer.identity->partition_oid);
  CHECK(second.filename().string() ==
        "metrics_p20240101" + identity_suffix(*newer.identity) + ".manifest.json");
  CHECK(newer.data_file == "metrics_p20240101" + identity_suffix(*newer.identity) + ".copy.zst");

  // Either can be restored by naming its manifest, each with its own rows.
  auto restored = f.rd({"restore", first.string()});
  REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
  CHECK(fingerprint(f, "public.metrics_p20240101") == first_rows);
  f.pg.execute("DROP TABLE public.metrics_p20240101");
  restored = f.rd({"restore", second.string()});
  REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
  CHECK(fingerprint(f, "public.metrics_p20240101") == second_rows);

  // A third incarnation goes beside both.
  f.pg.execute("DROP TABLE public.metrics");
  make_metrics(f, 3);
  run = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  CHECK(repo.ending(".manifest.json").size() == 3);
  CHECK(slurp(first) == first_manifest);
}

TEST_CASE(
    "snapshot safety: a re-run for the same incarnation replaces its own archive, and an archive without an "
    "identity is kept and still restores") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute("DROP TABLE public.metrics");
  Repository repo;
  make_metrics(f, 1);
  REQUIRE(f.rd({"ttl", "public.metrics", "snapshot:cold", "5d", "--id", "cold"}, repo.env()).exit_code == 0);
  const std::string rows = fingerprint(f, "public.metrics_p20240101");

  // The DROP fails after the archive is verified (a view depends on the partition): what a
  // crash between the manifest and the COMMIT leaves, a verified archive and the partition.
  f.pg.execute("CREATE VIEW public.keep AS SELECT * FROM public.metrics_p20240101");
  auto run = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  CHECK(run.exit_code == 1);
  REQUIRE(exists(f, "public.metrics_p20240101"));
  REQUIRE(repo.ending(".manifest.json").size() == 1);
  f.pg.execute("DROP VIEW public.keep");
  const fs::path manifest = archive_once(f, repo);
  CHECK(repo.ending(".manifest.json") == std::vector<fs::path>{manifest});
  CHECK(manifest.filename() == "metrics_p20240101.manifest.json");
  CHECK(repo.ending(".copy.zst").size() == 1);

  // The archive as a version 1 manifest (no identity, no checksum) describes it: an unknown
  // incarnation, never replaced by the next archive of that name.
  tamper(
      manifest,
      [](nlohmann::ordered_json& m) {
        m["format_version"] = 1;
        m.erase("identity");
        m.erase("manifest_sha256");
      },
      false);
  const std::string old_manifest = slurp(manifest);
  f.pg.execute("DROP TABLE public.metrics");
  make_metrics(f, 2);
  run = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  CHECK(slurp(manifest) == old_manifest);
  CHECK(repo.ending(".manifest.json").size() == 2);

  // It still restores, with a warning that it cannot be checked for changes.
  auto restored = f.rd({"restore", manifest.string(), "--into", "public.old_rows"});
  REQUIRE_MESSAGE(restored.exit_code == 0, restored.err);
  CHECK(restored.err.find("warning") != std::string::npos);
  CHECK(restored.err.find("manifest_sha256") != std::string::npos);
  CHECK(fingerprint(f, "public.old_rows") == rows);
}

TEST_CASE(
    "snapshot safety: an unreadable manifest under the archive name is kept, the new archive goes beside") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute("DROP TABLE public.metrics");
  Repository repo;
  make_metrics(f, 1);
  REQUIRE(f.rd({"ttl", "public.metrics", "snapshot:cold", "5d", "--id", "cold"}, repo.env()).exit_code == 0);
  const auto paths = archive_paths(repo.path, QualifiedName{"public", "metrics"},
                                   QualifiedName{"public", "metrics_p20240101"}, Compression::zstd);
  fs::create_directories(paths.directory);
  std::ofstream(paths.manifest) << "{\"format_version\": 9, \"from\": \"a newer retentiond\"}";
  std::ofstream(paths.data) << "its data";
  (void)archive_once(f, repo);
  CHECK(slurp(paths.manifest) == "{\"format_version\": 9, \"from\": \"a newer retentiond\"}");
  CHECK(slurp(paths.data) == "its data");
  CHECK(repo.ending(".manifest.json").size() == 2);
}

// Restore: nothing read from a manifest reaches SQL except as a quoted identifier or a value.
TEST_CASE(
    "snapshot safety: restore refuses a doctored manifest with exit 2 naming the field, and runs nothing") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute("DROP TABLE public.metrics");
  Repository repo;
  make_metrics(f, 1);
  REQUIRE(f.rd({"ttl", "public.metrics", "snapshot:cold", "5d", "--id", "cold"}, repo.env()).exit_code == 0);
  const fs::path manifest = archive_once(f, repo);
  const std::string pristine = slurp(manifest);
  std::string tables_before = f.pg.scalar("SELECT count(*) FROM pg_class");
  const std::string lo_import = "pg_catalog.lo_import('/etc/hostname')";
  const std::string attack = "integer CHECK (" + lo_import + " > 0)";

  // Each case changes one field of the pristine manifest (a JSON pointer) to one value.
  struct Case {
    const char* name;
    const char* pointer;
    std::string value;
    std::vector<std::string> where;  // the restore's extra arguments
    std::string field;               // what the error must name
    bool recompute = true;
  };
  const std::vector<std::string> into{"--into", "public.evil"};
  const std::vector<Case> cases{
      {"the issue's CHECK in a type, into a new table", "/columns/1/type", attack, into, "columns[1].type"},
      {"the issue's CHECK in a type, re-attached", "/columns/1/type", attack, {}, "columns[1].type"},
      {"a second statement in a type", "/columns/1/type", "integer; SELECT " + lo_import, into,
       "columns[1].type"},
      {"a type that closes the column list", "/columns/1/type",
       "integer); SELECT " + lo_import + "; CREATE TABLE x (y int", into, "columns[1].type"},
      {"a default in a type", "/columns/1/type", "integer DEFAULT " + lo_import, into, "columns[1].type"},
      {"a collation in a type", "/columns/2/type", "text COLLATE \"C\"", into, "columns[2].type"},
      {"a comment in a type", "/columns/1/type", "integer -- ", into, "columns[1].type"},
      {"a type that does not exist", "/columns/1/type", "no_such_type", into, "columns[1].type"},
      {"an expression in the modifiers", "/columns/1/type", "numeric(" + lo_import + ")", into,
       "columns[1].type"},
      {"a column name that closes its quotes, re-attached",
       "/columns/1/name",
       "v\" integer CHECK (" + lo_import + " > 0), \"w",
       {},
       "columns[1].name"},
      {"SQL after the bound",
       "/bounds/bound_text",
       "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-02 00:00:00+00'); SELECT " + lo_import,
       {},
       "bounds"},
      {"a bound expression in place of a value",
       "/bounds/bound_text",
       "FOR VALUES FROM ((SELECT " + lo_import + "::text::timestamptz)) TO ('2024-01-02 00:00:00+00')",
       {},
       "bounds"},
      {"a lower bound that is not an instant",
       "/bounds/lower",
       "2024-01-01'); SELECT " + lo_import + " --",
       {},
       "bounds.lower"},
      {"a change without a recomputed checksum", "/columns/1/type", "bigint", into, "manifest_sha256", false},
      {"a checksum that is not one", "/manifest_sha256", "x", into, "manifest_sha256", false},
  };
  const auto refused = [&](const Case& c) {
    CAPTURE(c.name);
    std::ofstream(manifest, std::ios::trunc) << pristine;
    tamper(
        manifest, [&](auto& m) { m[nlohmann::ordered_json::json_pointer(c.pointer)] = c.value; },
        c.recompute);
    std::vector<std::string> args{"restore", manifest.string()};
    args.insert(args.end(), c.where.begin(), c.where.end());
    const auto result = f.rd(args);
    CHECK(result.exit_code == 2);
    CHECK_MESSAGE(is_one_line(result.err), result.err);
    CHECK_MESSAGE(result.err.find("\"" + c.field + "\"") != std::string::npos, result.err);
    CHECK(large_objects(f) == "0");
    CHECK_FALSE(exists(f, "public.evil"));
    CHECK_FALSE(exists(f, "public.metrics_p20240101"));
    CHECK_FALSE(exists(f, "public.x"));
    CHECK(f.pg.scalar("SELECT count(*) FROM pg_class") == tables_before);
  };
  for (const auto& c : cases) refused(c);

  // The parent gone: the table is made from the manifest's columns, so the type check is what stands.
  f.pg.execute("DROP TABLE public.metrics");
  tables_before = f.pg.scalar("SELECT count(*) FROM pg_class");
  refused({"the issue's CHECK in a type, the parent gone", "/columns/1/type", attack, {}, "columns[1].type"});

  // The pristine manifest restores, its types resolved through the server.
  std::ofstream(manifest, std::ios::trunc) << pristine;
  const auto good = f.rd({"restore", manifest.string(), "--into", "public.good"});
  REQUIRE_MESSAGE(good.exit_code == 0, good.err);
  CHECK(good.err.empty());
  CHECK(f.pg.scalar("SELECT count(*) FROM public.good") == "1440");
}

TEST_CASE(
    "snapshot safety: column types with modifiers, arrays and quoted names round-trip through restore") {
  CliFixture f;
  f.setup_with_sample_tables();
  Repository repo;
  f.pg.execute(R"sql(
    CREATE TYPE public."Mood ""x""" AS ENUM ('ok', 'sad');
    CREATE TABLE public.wide (ts timestamp(3) without time zone NOT NULL, a numeric(10,2), b character varying(20),
      c character(3), d timestamp(0) with time zone, e integer[], f numeric(5,1)[], g public."Mood ""x""",
      h bit varying(5), i interval, j double precision, k time(2) without time zone, l text,
      m interval(3), n interval day to second(2), o interval year to month)
      PARTITION BY RANGE (ts);
    CREATE TABLE public.wide_p1 PARTITION OF public.wide FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
    CREATE TABLE public.wide_p2 PARTITION OF public.wide FOR VALUES FROM ('2024-01-10') TO ('2024-01-11');
    INSERT INTO public.wide SELECT '2024-01-01'::timestamp + g * interval '1 minute', g / 3.0, 'v' || g, 'abc',
      '2024-01-01'::timestamptz, ARRAY[g, g + 1], ARRAY[g / 7.0], 'sad', B'101', g * interval '1 second', g / 9.0,
      '12:00:00.25', NULL, g * interval '1.2345 s', g * interval '1.2345 s', g * interval '1 month' FROM generate_series(1, 100) g;
  )sql");
  REQUIRE(f.rd({"ttl", "public.wide", "snapshot:cold", "5d"}, repo.env()).exit_code == 0);
  const std::string rows = fingerprint(f, "public.wide_p1");
  auto run = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  const auto manifests = repo.ending(".manifest.json");
  REQUIRE(manifests.size() == 1);

  auto into = f.rd({"restore", manifests[0].string(), "--into", "public.copy"});
  REQUIRE_MESSAGE(into.exit_code == 0, into.err);
  CHECK(fingerprint(f, "public.copy") == rows);
  CHECK(f.pg.scalar(
            "SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = 'public.copy'::regclass AND attnum > 0") ==
        f.pg.scalar(
            "SELECT string_agg(format_type(atttypid, atttypmod), ', ' ORDER BY attnum) FROM pg_attribute "
            "WHERE attrelid = 'public.wide'::regclass AND attnum > 0"));
  auto back = f.rd({"restore", manifests[0].string()});
  REQUIRE_MESSAGE(back.exit_code == 0, back.err);
  CHECK(fingerprint(f, "public.wide_p1") == rows);
  CHECK(f.pg.scalar(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'public.wide_p1'::regclass") ==
        "FOR VALUES FROM ('2024-01-01 00:00:00') TO ('2024-01-02 00:00:00')");
}

TEST_CASE("snapshot safety: partitions keyed by date and by timestamp re-attach with their exact bounds") {
  CliFixture f;
  f.setup_with_sample_tables();
  Repository repo;
  f.pg.execute(R"sql(
    CREATE TABLE public.days (d date NOT NULL, v int) PARTITION BY RANGE (d);
    CREATE TABLE public.days_old PARTITION OF public.days FOR VALUES FROM ('2023-12-01') TO ('2024-01-02');
    CREATE TABLE public.days_new PARTITION OF public.days FOR VALUES FROM ('2024-01-10') TO ('2024-01-11');
    INSERT INTO public.days SELECT '2023-12-01'::date + g, g FROM generate_series(0, 31) g;
  )sql");
  REQUIRE(f.rd({"ttl", "public.days", "snapshot:cold", "5d"}, repo.env()).exit_code == 0);
  const std::string bound = f.pg.scalar(
      "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'public.days_old'::regclass");
  const std::string rows = fingerprint(f, "public.days_old");
  auto run = f.rd({"run", "--once", "--as-of", "2024-01-11"}, repo.env());
  REQUIRE_MESSAGE(run.exit_code == 0, run.err);
  const auto manifests = repo.ending(".manifest.json");
  REQUIRE(manifests.size() == 1);
  auto back = f.rd({"restore", manifests[0].string()});
  REQUIRE_MESSAGE(back.exit_code == 0, back.err);
  CHECK(f.pg.scalar(
            "SELECT pg_get_expr(relpartbound, oid) FROM pg_class WHERE oid = 'public.days_old'::regclass") ==
        bound);
  CHECK(fingerprint(f, "public.days_old") == rows);
}
