// The one rule that decides whether a table can carry a policy (table_ineligibility), applied
// alike at add, edit, run and check.
#include <string>

#include <doctest/doctest.h>

#include "retentiond/engine/table_eligibility.hpp"

using retentiond::PartitionMethod;
using retentiond::Policy;
using retentiond::TableFacts;
using retentiond::table_ineligibility;

namespace {

TableFacts range_table(const std::string& schema = "public", const std::string& name = "metrics") {
  TableFacts t;
  t.table = {schema, name};
  t.exists = true;
  t.partitioned = true;
  t.relkind = "p";
  t.key_column = "ts";
  t.key_type = "timestamp with time zone";
  return t;
}

Policy policy_on(const TableFacts& t, std::optional<std::string> column = std::nullopt,
                 const std::string& strategy = "delete") {
  Policy p;
  p.id = "p";
  p.table = t.table;
  p.strategy = strategy;
  p.partition_column = std::move(column);
  return p;
}

std::string reason(const TableFacts& t, const Policy& p, const std::string& schema = "retention") {
  const auto r = table_ineligibility(t, p, schema);
  return r ? *r : "";
}

}  // namespace

TEST_CASE("table eligibility: a range-partitioned table on a time key is accepted, also as a partition") {
  TableFacts t = range_table();
  CHECK(reason(t, policy_on(t)).empty());
  CHECK(reason(t, policy_on(t, "ts")).empty());
  t.is_partition = true;  // a sub-partitioned partition
  CHECK(reason(t, policy_on(t)).empty());
}

TEST_CASE("table eligibility: retentiond's own schema, whatever its name, and system schemas are refused") {
  for (const char* schema : {"retention", "pg_catalog", "information_schema", "pg_toast", "pg_temp_3",
                             "pg_toast_temp_3", "pg_temp"}) {
    CAPTURE(schema);
    TableFacts t = range_table(schema, "jobs_log");
    CHECK(reason(t, policy_on(t)).starts_with("no policy may work on "));
  }
  TableFacts ops = range_table("ops", "jobs_log");
  CHECK(reason(ops, policy_on(ops), "ops").find("retentiond's own schema \"ops\"") != std::string::npos);
  CHECK(reason(ops, policy_on(ops), "retention").empty());
  TableFacts temp = range_table();
  temp.temporary = true;
  CHECK(reason(temp, policy_on(temp)).find("temporary table") != std::string::npos);
}

TEST_CASE("table eligibility: keys that are not one time column are refused with the reason") {
  TableFacts list = range_table();
  list.method = PartitionMethod::list;
  CHECK(reason(list, policy_on(list, "ts")).find("partitioned by LIST") != std::string::npos);
  TableFacts hash = range_table();
  hash.method = PartitionMethod::hash;
  CHECK(reason(hash, policy_on(hash)).find("partitioned by HASH") != std::string::npos);
  TableFacts two = range_table();
  two.key_columns = 2;
  two.key_column.reset();
  CHECK(reason(two, policy_on(two, "ts")).find("partition key of 2 columns") != std::string::npos);
  TableFacts expression = range_table();
  expression.key_has_expression = true;
  expression.key_column.reset();
  CHECK(reason(expression, policy_on(expression)).find("by an expression") != std::string::npos);
  TableFacts epoch = range_table();
  epoch.key_type = "bigint";
  CHECK(reason(epoch, policy_on(epoch)).find("is bigint") != std::string::npos);
  CHECK(reason(epoch, policy_on(epoch, "ts")).find("is bigint") != std::string::npos);
  CHECK(reason(range_table(), policy_on(range_table(), "other")).find("does not match") != std::string::npos);
}

TEST_CASE("table eligibility: plain tables, partitions and other relations") {
  TableFacts plain;
  plain.table = {"public", "events"};
  plain.exists = true;
  plain.relkind = "r";
  CHECK(reason(plain, policy_on(plain)) == "public.events is not partitioned and has no column of type "
                                           "timestamptz, timestamp or date");
  plain.first_time_column = "Created At";
  CHECK(reason(plain, policy_on(plain)) ==
        "public.events is not partitioned: name its time column, e.g. public.events:\"Created At\"");
  CHECK(reason(plain, policy_on(plain, "x")) == "column \"x\" does not exist in public.events");
  plain.key_type = "timestamp without time zone";
  CHECK(reason(plain, policy_on(plain, "x")).empty());
  CHECK(reason(plain, policy_on(plain, "x", "snapshot")).find("needs a partitioned table") != std::string::npos);
  plain.is_partition = true;
  CHECK(reason(plain, policy_on(plain, "x")).find("give the policy to its parent") != std::string::npos);
  TableFacts view;
  view.table = {"public", "v"};
  view.relkind = "v";
  CHECK(reason(view, policy_on(view)) == "public.v is a view, not a table");
  TableFacts missing;
  missing.table = {"public", "gone"};
  CHECK(reason(missing, policy_on(missing)) == "table public.gone does not exist");
}
