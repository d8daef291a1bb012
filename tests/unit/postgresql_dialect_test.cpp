#include <chrono>
#include <string>

#include <doctest/doctest.h>

#include "retentiond/dialect/postgresql.hpp"
#include "retentiond/engine/jobs_log.hpp"
#include "retentiond/engine/plan.hpp"

using retentiond::DetachMode;
using retentiond::Action;
using retentiond::JobsLog;
using retentiond::PostgresqlDialect;
using retentiond::QualifiedName;

namespace {

using namespace std::chrono;

sys_seconds at(int y, unsigned mo, unsigned d, int h = 0, int mi = 0, int s = 0) {
  return sys_days{year{y} / month{mo} / day{d}} + hours{h} + minutes{mi} + seconds{s};
}

const PostgresqlDialect pg;
const QualifiedName metrics{"public", "metrics"};
const QualifiedName partition{"public", "metrics_p20240101"};
// Capitals, spaces, dots and double quotes: everything that must survive quoting.
const QualifiedName odd_parent{R"(My "Schema")", "Metrics.Table"};
const QualifiedName odd_partition{R"(My "Schema")", R"(Part "2024" Jan)"};

}  // namespace

TEST_CASE("postgresql: the dialect is named postgresql") { CHECK(pg.name() == "postgresql"); }

TEST_CASE("postgresql: drop_tables names every table in one statement, each quoted") {
  CHECK(pg.drop_tables({partition}) == R"(DROP TABLE "public"."metrics_p20240101")");
  CHECK(pg.drop_tables({partition, odd_partition}) ==
        R"(DROP TABLE "public"."metrics_p20240101", "My ""Schema"""."Part ""2024"" Jan")");
}

TEST_CASE("postgresql: drop_table quotes schema and name") {
  CHECK(pg.drop_table(partition) == R"(DROP TABLE "public"."metrics_p20240101")");
  CHECK(pg.drop_table(odd_partition) == R"(DROP TABLE "My ""Schema"""."Part ""2024"" Jan")");
  CHECK(pg.drop_table({"public", "select"}) == R"(DROP TABLE "public"."select")");
}

TEST_CASE("postgresql: detach_partition names parent and partition, optionally CONCURRENTLY or FINALIZE") {
  CHECK(pg.detach_partition(metrics, partition, DetachMode::locking) ==
        R"(ALTER TABLE "public"."metrics" DETACH PARTITION "public"."metrics_p20240101")");
  CHECK(pg.detach_partition(metrics, partition, DetachMode::concurrently) ==
        R"(ALTER TABLE "public"."metrics" DETACH PARTITION "public"."metrics_p20240101" CONCURRENTLY)");
  CHECK(pg.detach_partition(odd_parent, odd_partition, DetachMode::concurrently) ==
        R"(ALTER TABLE "My ""Schema"""."Metrics.Table" DETACH PARTITION "My ""Schema"""."Part ""2024"" Jan")"
        R"( CONCURRENTLY)");
  CHECK(pg.detach_partition(odd_parent, odd_partition, DetachMode::finalize) ==
        R"(ALTER TABLE "My ""Schema"""."Metrics.Table" DETACH PARTITION "My ""Schema"""."Part ""2024"" Jan")"
        R"( FINALIZE)");
}

TEST_CASE("postgresql: set_tablespace quotes the tablespace") {
  CHECK(pg.set_tablespace(partition, "cold") ==
        R"(ALTER TABLE "public"."metrics_p20240101" SET TABLESPACE "cold")");
  CHECK(pg.set_tablespace(partition, "pg_default") ==
        R"(ALTER TABLE "public"."metrics_p20240101" SET TABLESPACE "pg_default")");
  CHECK(pg.set_tablespace(odd_partition, R"(Cold "Tier")") ==
        R"(ALTER TABLE "My ""Schema"""."Part ""2024"" Jan" SET TABLESPACE "Cold ""Tier""")");
}

TEST_CASE("postgresql: delete_batch deletes at most $2 rows before $1 by ctid") {
  CHECK(pg.delete_batch({"public", "events"}, "created_at") ==
        R"(DELETE FROM ONLY "public"."events" WHERE ctid = ANY(ARRAY(SELECT ctid FROM ONLY "public"."events")"
        R"( WHERE "created_at" < $1 LIMIT $2)))");
  CHECK(pg.delete_batch(odd_parent, R"(Created "At")") ==
        R"(DELETE FROM ONLY "My ""Schema"""."Metrics.Table" WHERE ctid = ANY(ARRAY(SELECT ctid FROM ONLY)"
        R"( "My ""Schema"""."Metrics.Table" WHERE "Created ""At""" < $1 LIMIT $2)))");
}

TEST_CASE("postgresql: any_row_before is an EXISTS over the given parameter") {
  CHECK(pg.any_row_before({"public", "events"}, "created_at", 1) ==
        R"(EXISTS (SELECT 1 FROM ONLY "public"."events" WHERE "created_at" < $1))");
  CHECK(pg.any_row_before({"public", "events"}, "created_at", 3) ==
        R"(EXISTS (SELECT 1 FROM ONLY "public"."events" WHERE "created_at" < $3))");
  CHECK(pg.any_row_before(odd_parent, "Time Stamp", 12) ==
        R"(EXISTS (SELECT 1 FROM ONLY "My ""Schema"""."Metrics.Table" WHERE "Time Stamp" < $12))");
}

TEST_CASE("postgresql: cutoff_parameter spells the cutoff for timestamptz with an explicit UTC offset") {
  CHECK(pg.cutoff_parameter(at(2024, 1, 6), "timestamp with time zone") == "2024-01-06 00:00:00+00");
  CHECK(pg.cutoff_parameter(at(2024, 12, 31, 23, 59, 59), "timestamp with time zone") ==
        "2024-12-31 23:59:59+00");
}

TEST_CASE("postgresql: cutoff_parameter spells the cutoff for timestamp as UTC wall time") {
  CHECK(pg.cutoff_parameter(at(2024, 1, 6), "timestamp without time zone") == "2024-01-06 00:00:00");
  CHECK(pg.cutoff_parameter(at(2024, 2, 29, 13, 4, 5), "timestamp without time zone") ==
        "2024-02-29 13:04:05");
}

// A date holds a whole day: only days that end by the cutoff may go, so `day < cutoff's day`.
TEST_CASE("postgresql: cutoff_parameter spells the cutoff for date as its day") {
  CHECK(pg.cutoff_parameter(at(2024, 1, 6), "date") == "2024-01-06");
  CHECK(pg.cutoff_parameter(at(2024, 1, 6, 23, 59, 59), "date") == "2024-01-06");
  CHECK(pg.cutoff_parameter(at(999, 3, 1), "date") == "0999-03-01");
}

TEST_CASE("postgresql: cutoff_parameter spells a cutoff before year 1 with a BC suffix") {
  // Year 0 is 1 BC, year -43 is 44 BC.
  CHECK(pg.cutoff_parameter(at(0, 12, 31), "date") == "0001-12-31 BC");
  CHECK(pg.cutoff_parameter(at(-43, 3, 15, 12), "timestamp with time zone") == "0044-03-15 12:00:00+00 BC");
  CHECK(pg.cutoff_parameter(at(-43, 3, 15, 12), "timestamp without time zone") == "0044-03-15 12:00:00 BC");
  CHECK(pg.cutoff_parameter(at(1, 1, 1), "timestamp with time zone") == "0001-01-01 00:00:00+00");
}

TEST_CASE("postgresql: copy_out streams the partition to stdout") {
  CHECK(pg.copy_out(partition) == R"(COPY "public"."metrics_p20240101" TO STDOUT)");
  CHECK(pg.copy_out(odd_partition) == R"(COPY "My ""Schema"""."Part ""2024"" Jan" TO STDOUT)");
}

TEST_CASE("postgresql: set_lock_timeout sets the transaction's lock_timeout in milliseconds") {
  CHECK(pg.set_lock_timeout(milliseconds(5000)) == "SET LOCAL lock_timeout = 5000");
  CHECK(pg.set_lock_timeout(milliseconds(1)) == "SET LOCAL lock_timeout = 1");
  CHECK(pg.set_lock_timeout(milliseconds(2'073'600'000)) == "SET LOCAL lock_timeout = 2073600000");
}

// --- JobsLog::sql_text: what jobs_log.sql and dry runs show ------------------------------------

TEST_CASE("postgresql: the jobs_log sql of one statement is that statement") {
  Action action;
  action.sql = {pg.drop_table(partition)};
  CHECK(JobsLog::sql_text(action) == R"(DROP TABLE "public"."metrics_p20240101")");
}

TEST_CASE("postgresql: the jobs_log sql joins several statements with a semicolon and a newline") {
  Action action;
  action.sql = {pg.detach_partition(metrics, partition, DetachMode::locking), pg.drop_table(partition)};
  CHECK(JobsLog::sql_text(action) ==
        "ALTER TABLE \"public\".\"metrics\" DETACH PARTITION \"public\".\"metrics_p20240101\";\n"
        "DROP TABLE \"public\".\"metrics_p20240101\"");
  action.sql = {"A", "B", "C"};
  CHECK(JobsLog::sql_text(action) == "A;\nB;\nC");
}

TEST_CASE("postgresql: the jobs_log sql lists the parameters in a comment after the statements") {
  Action action;
  action.sql = {pg.delete_batch({"public", "events"}, "created_at")};
  action.params = {pg.cutoff_parameter(at(2024, 1, 6), "timestamp with time zone"), "10000"};
  CHECK(JobsLog::sql_text(action) ==
        "DELETE FROM ONLY \"public\".\"events\" WHERE ctid = ANY(ARRAY(SELECT ctid FROM ONLY \"public\".\"events\""
        " WHERE \"created_at\" < $1 LIMIT $2))\n"
        "-- $1 = '2024-01-06 00:00:00+00', $2 = '10000'");
  action.params = {"x"};
  action.sql = {"S1", "S2"};
  CHECK(JobsLog::sql_text(action) == "S1;\nS2\n-- $1 = 'x'");
}

TEST_CASE("postgresql: the jobs_log sql of an action without statements is empty") {
  CHECK(JobsLog::sql_text(Action{}).empty());
}
