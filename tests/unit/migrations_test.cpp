#include "retentiond/db/migrations.hpp"

#include <cstddef>
#include <string>
#include <string_view>

#include <doctest/doctest.h>

using retentiond::latest_schema_version;
using retentiond::Migration;
using retentiond::migrations;
using retentiond::render_migration;

namespace {

std::size_t count(std::string_view text, std::string_view part) {
  std::size_t n = 0;
  for (auto at = text.find(part); at != std::string_view::npos; at = text.find(part, at + part.size())) ++n;
  return n;
}

}  // namespace

TEST_CASE("migrations: versions start at 1 and ascend without gaps") {
  const auto all = migrations();
  REQUIRE_FALSE(all.empty());
  for (std::size_t i = 0; i < all.size(); ++i) {
    CAPTURE(i);
    CHECK(all[i].version == static_cast<int>(i) + 1);
  }
}

TEST_CASE("migrations: the latest schema version is the last migration's") {
  const auto all = migrations();
  CHECK(latest_schema_version() == all.back().version);
  CHECK(latest_schema_version() == static_cast<int>(all.size()));
}

TEST_CASE("migrations: every migration has a name and SQL that refers to the schema") {
  for (const auto& migration : migrations()) {
    CAPTURE(migration.version);
    CHECK_FALSE(migration.name.empty());
    CHECK_FALSE(migration.sql.empty());
    CHECK(migration.sql.find("@schema@") != std::string_view::npos);
  }
}

TEST_CASE("migrations: the first migration creates the documented tables and jobs_log columns") {
  const std::string sql = render_migration(migrations().front(), "retention");
  CHECK(sql.find("CREATE TABLE \"retention\".policies") != std::string::npos);
  CHECK(sql.find("CREATE TABLE \"retention\".jobs_log") != std::string::npos);
  CHECK(sql.find("CREATE TABLE \"retention\".policy_events") != std::string::npos);
  for (const char* column :
       {"run_id ", "policy_id ", "strategy ", "table_name ", "\"partition\" ", "action ", "sql ", "status ",
        "rows_affected ", "bytes ", "started_at ", "finished_at ", "error ", "instance "}) {
    CAPTURE(column);
    CHECK(sql.find(std::string("\n  ") + column) != std::string::npos);
  }
  for (const char* status : {"'running'", "'succeeded'", "'failed'", "'skipped'", "'abandoned'"}) {
    CHECK(sql.find(status) != std::string::npos);
  }
}

TEST_CASE("migrations: rendering substitutes the quoted schema everywhere") {
  for (const auto& migration : migrations()) {
    CAPTURE(migration.version);
    const std::string sql = render_migration(migration, "retention");
    CHECK(sql.find("@schema@") == std::string::npos);
    CHECK(count(sql, "\"retention\".") == count(migration.sql, "@schema@."));
    CHECK(count(sql, "\"retention\"") == count(migration.sql, "@schema@"));
    // Nothing else changed: each placeholder grew by exactly the difference in length.
    const std::size_t growth = std::string_view("\"retention\"").size() - std::string_view("@schema@").size();
    CHECK(sql.size() == migration.sql.size() + count(migration.sql, "@schema@") * growth);
  }
}

TEST_CASE("migrations: a schema name with capitals and spaces keeps them, quoted") {
  const std::string sql = render_migration(migrations().front(), "Data Retention");
  CHECK(sql.find("@schema@") == std::string::npos);
  CHECK(sql.find("CREATE TABLE \"Data Retention\".policies") != std::string::npos);
}

TEST_CASE("migrations: a schema name with a quote in it is rendered safely") {
  const Migration migration{1, "test", "CREATE TABLE @schema@.t (); GRANT USAGE ON SCHEMA @schema@ TO x;"};
  CHECK(render_migration(migration, "a\"; drop schema public; --") ==
        "CREATE TABLE \"a\"\"; drop schema public; --\".t (); "
        "GRANT USAGE ON SCHEMA \"a\"\"; drop schema public; --\" TO x;");
  const std::string real = render_migration(migrations().front(), "we\"ird");
  CHECK(real.find("@schema@") == std::string::npos);
  CHECK(real.find("CREATE TABLE \"we\"\"ird\".policies") != std::string::npos);
}

TEST_CASE("migrations: a schema named like the placeholder is substituted once, not forever") {
  const Migration migration{1, "test", "@schema@.a @schema@.b"};
  CHECK(render_migration(migration, "@schema@") == "\"@schema@\".a \"@schema@\".b");
  CHECK(render_migration(migration, "x@schema@y") == "\"x@schema@y\".a \"x@schema@y\".b");
}

TEST_CASE("migrations: rendering handles placeholders at both ends and back to back") {
  CHECK(render_migration({1, "t", "@schema@"}, "s") == "\"s\"");
  CHECK(render_migration({1, "t", "@schema@@schema@"}, "s") == "\"s\"\"s\"");
  CHECK(render_migration({1, "t", "no placeholder"}, "s") == "no placeholder");
  CHECK(render_migration({1, "t", "@schema"}, "s") == "@schema");
  CHECK(render_migration({1, "t", ""}, "s").empty());
}
