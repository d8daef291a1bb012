#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "support/cli_fixture.hpp"

using retentiond::testing::CliFixture;
using retentiond::testing::RunResult;

namespace {

constexpr const char* kForged = "level=error event=forged";

// public.metrics with partitions whose names hold a line break and an ESC: two expired ones
// (dropped) and one in the future (skipped), plus a default partition (skipped).
void create_hostile_partitions(CliFixture& f) {
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    DO $$ BEGIN
      EXECUTE format('CREATE TABLE public.%I PARTITION OF public.metrics FOR VALUES FROM (%L) TO (%L)',
                     E'metrics_p1\nlevel=error event=forged', '2024-01-02', '2024-01-03');
      EXECUTE format('CREATE TABLE public.%I PARTITION OF public.metrics FOR VALUES FROM (%L) TO (%L)',
                     E'metrics_p2\r\x1b[2Jcleared\t\x7f', '2024-01-03', '2024-01-04');
      EXECUTE format('CREATE TABLE public.%I PARTITION OF public.metrics FOR VALUES FROM (%L) TO (%L)',
                     E'metrics_future\nlevel=error event=forged', '2999-01-01', '2999-01-02');
    END $$;
    CREATE TABLE public.metrics_default PARTITION OF public.metrics DEFAULT;
  )sql");
  auto add = f.rd({"ttl", "public.metrics", "delete", "30d"});
  REQUIRE_MESSAGE(add.exit_code == 0, add.err);
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// No line of the output was started by a name: the forged text only ever appears inside the
// line of the record it belongs to, and no raw control character is left.
void check_no_forged_line(const std::string& what, const std::string& text,
                          const std::string& anchor = "metrics_") {
  CAPTURE(what);
  CAPTURE(text);
  for (const auto& line : lines_of(text)) {
    CHECK_FALSE(line.starts_with(kForged));
    CHECK(line.find('\r') == std::string::npos);
    CHECK(line.find('\x1b') == std::string::npos);
    CHECK(line.find('\x7f') == std::string::npos);
    if (line.find("event=forged") != std::string::npos) CHECK(line.find(anchor) != std::string::npos);
  }
}

}  // namespace

TEST_CASE("output: a name with a line break or ESC never forges a line in run, jobs or text logs") {
  CliFixture f;
  create_hostile_partitions(f);
  const std::vector<std::string> dry = {"run",        "--once",       "--dry-run", "--as-of",
                                        "2024-06-01", "--log-format", "text"};
  for (const char* format : {"table", "compact"}) {
    auto args = dry;
    args.insert(args.end(), {"-o", format});
    auto r = f.rd(args);
    REQUIRE_MESSAGE(r.exit_code == 0, r.err);
    check_no_forged_line(std::string("dry run ") + format, r.out + r.err);
    CHECK(r.out.find("metrics_p1") != std::string::npos);
  }
  auto live = f.rd({"run", "--once", "--as-of", "2024-06-01", "-o", "compact", "--log-format", "text",
                    "--log-level", "debug"});
  REQUIRE_MESSAGE(live.exit_code == 0, live.err);
  check_no_forged_line("live run compact", live.out + live.err);
  CHECK(live.out.find("metrics_p2") != std::string::npos);
  CHECK(f.pg.scalar("SELECT count(*) FROM pg_inherits WHERE inhparent = 'public.metrics'::regclass") ==
        "2");  // the future and the default partition

  for (const char* format : {"table", "compact"}) {
    auto jobs = f.rd({"jobs", "-o", format});
    REQUIRE_MESSAGE(jobs.exit_code == 0, jobs.err);
    check_no_forged_line(std::string("jobs ") + format, jobs.out);
    CHECK(jobs.out.find("metrics_p1") != std::string::npos);
  }
  // The exact bytes stay available to programs.
  auto json = f.rd({"jobs", "-o", "json"});
  REQUIRE(json.exit_code == 0);
  bool found = false;
  for (const auto& job : nlohmann::json::parse(json.out)) {
    if (!job["partition"].is_null() &&
        job["partition"].get<std::string>() == "public.\"metrics_p1\nlevel=error event=forged\"")
      found = true;
  }
  CHECK(found);
}

TEST_CASE("output: the SQL of a dry-run table stays exact for a name with a line break") {
  CliFixture f;
  create_hostile_partitions(f);
  auto r = f.rd({"run", "--once", "--dry-run", "--as-of", "2024-06-01"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  std::string shown;
  for (const auto& line : lines_of(r.out)) {
    const auto at = line.find("DROP TABLE \"public\".U&\"metrics_p1");
    if (at != std::string::npos) shown = line.substr(at);
  }
  REQUIRE_MESSAGE(!shown.empty(), r.out);
  CHECK(shown == "DROP TABLE \"public\".U&\"metrics_p1\\000Alevel=error event=forged\"");
  // What the table shows names the very partition: run as SQL, it reaches exactly that table.
  const std::string name = shown.substr(std::string("DROP TABLE ").size());
  f.pg.execute("COMMENT ON TABLE " + name + " IS 'reached'");
  CHECK(f.pg.scalar("SELECT obj_description(c.oid, 'pg_class') FROM pg_class c "
                    "WHERE c.relname = E'metrics_p1\\nlevel=error event=forged'") == "reached");
  // The ESC partition too: no raw control byte, and the same exact form.
  CHECK(r.out.find("U&\"metrics_p2\\000D\\001B[2Jcleared\\0009\\007F\"") != std::string::npos);
}

TEST_CASE("output: skipped partitions and their reasons are listed in every format of run") {
  CliFixture f;
  create_hostile_partitions(f);
  for (const bool dry_run : {true, false}) {
    CAPTURE(dry_run);
    std::vector<std::string> base = {"run", "--once", "--as-of", "2024-06-01"};
    if (dry_run) base.push_back("--dry-run");
    auto table = f.rd(base);
    REQUIRE_MESSAGE(table.exit_code == 0, table.err);
    CHECK(table.out.find("SKIPPED") != std::string::npos);
    bool default_row = false;
    bool future_row = false;
    for (const auto& line : lines_of(table.out)) {
      if (line.find("public.metrics_default") != std::string::npos &&
          line.find("default partition") != std::string::npos)
        default_row = true;
      if (line.find("metrics_future\\x0alevel=error") != std::string::npos &&
          line.find("not expired") != std::string::npos)
        future_row = true;
    }
    CHECK_MESSAGE(default_row, table.out);
    CHECK_MESSAGE(future_row, table.out);
    if (!dry_run) break;  // the live run dropped what it could: later formats run dry

    auto args = base;
    args.insert(args.end(), {"-o", "compact"});
    auto compact = f.rd(args);
    REQUIRE(compact.exit_code == 0);
    CHECK(compact.out.find(
              "policy=public.metrics-delete skipped=public.metrics_default reason=\"default partition\"") !=
          std::string::npos);
    CHECK(compact.out.find(
              "skipped=\"public.\\\"metrics_future\\nlevel=error event=forged\\\"\" reason=\"not expired") !=
          std::string::npos);
    check_no_forged_line("compact", compact.out);

    args = base;
    args.insert(args.end(), {"-o", "json"});
    auto json = f.rd(args);
    REQUIRE(json.exit_code == 0);
    CHECK(nlohmann::json::parse(json.out)["policies"][0]["skipped"].size() == 2);
  }
}

TEST_CASE("output: policy list/show, status and check keep a hostile table name on its line") {
  CliFixture f;
  f.setup_with_sample_tables();
  f.pg.execute(R"sql(
    DO $$ BEGIN
      EXECUTE format('CREATE TABLE public.%I (ts timestamptz NOT NULL, v int) PARTITION BY RANGE (ts)',
                     E'evil\nlevel=error event=forged\x1b[2J');
    END $$;
  )sql");
  const std::string table =
      f.pg.scalar("SELECT quote_ident(relname) FROM pg_class WHERE relname LIKE 'evil%'");
  auto add = f.rd({"ttl", "public." + table, "delete", "30d", "--id", "evil-delete"});
  REQUIRE_MESSAGE(add.exit_code == 0, add.err);
  const std::vector<std::vector<std::string>> commands = {
      {"policy", "list"}, {"policy", "show", "evil-delete"}, {"status"}, {"check"}};
  for (const auto& command : commands) {
    for (const char* format : {"table", "compact"}) {
      auto args = command;
      args.insert(args.end(), {"-o", format});
      auto r = f.rd(args);
      CAPTURE(args);
      CHECK_MESSAGE(r.exit_code <= 1, r.err);
      check_no_forged_line("policy command", r.out + r.err, "evil");
    }
  }
}
