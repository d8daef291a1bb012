#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "retentiond/sql/identifier.hpp"

namespace retentiond {

/// One partition as the catalog describes it. Bounds are instants in UTC: a `date` bound is
/// midnight UTC, a `timestamp` (without time zone) bound is read as UTC, like every cutoff.
struct PartitionFacts {
  QualifiedName name;
  bool is_default = false;
  /// Empty when the range is open on that side (MINVALUE / MAXVALUE, `infinity`) or the bound
  /// is not a single time value; such partitions are never touched.
  std::optional<std::chrono::sys_seconds> lower;
  std::optional<std::chrono::sys_seconds> upper;
  /// As pg_get_expr prints it, for the reason a partition is skipped; kept only when the bound
  /// is not a closed time range (a catalog of 100,000 partitions need not hold them all).
  std::string bound_text;
  std::string tablespace;       ///< empty: the database's default tablespace
  std::int64_t size_bytes = 0;  ///< estimate from relpages
  std::int64_t estimated_rows = 0;
  bool sub_partitioned = false;  ///< itself partitioned: its rows live in partitions of its own
  bool foreign = false;          ///< a foreign table: its rows live on another server
  /// An interrupted `DETACH PARTITION ... CONCURRENTLY` left it half detached (PostgreSQL 14+:
  /// pg_inherits.inhdetachpending): queries of the parent no longer see it, and PostgreSQL
  /// refuses every other concurrent detach of the table until it is finished with FINALIZE.
  bool detach_pending = false;
};

/// How a partitioned table splits its rows (PostgreSQL: pg_partitioned_table.partstrat).
enum class PartitionMethod { range, list, hash };

/// A policy's table as the catalog describes it, gathered for every policy of a run in a
/// constant number of queries. Adding or editing a policy reads the same facts (without the
/// partitions), so both judge a table by one function (table_ineligibility).
struct TableFacts {
  QualifiedName table;
  bool exists = false;  ///< exists and is a table (plain or partitioned)
  bool partitioned = false;
  std::string relkind;  ///< pg_class.relkind; empty when no relation has the name
  std::int64_t oid = 0;
  bool is_partition = false;  ///< a partition of another table (relispartition)
  bool temporary = false;     ///< a temporary table (relpersistence 't'), of any session
  PartitionMethod method = PartitionMethod::range;  ///< when partitioned
  int key_columns = 1;                              ///< when partitioned: columns of the key
  bool key_has_expression = false;                  ///< when partitioned: a key part is an expression
  std::optional<std::string> key_column;   ///< single-column partition key
  std::string key_type;                    ///< format_type of the key / time column
  /// Plain tables: the first column of a time type, to suggest when the policy names none.
  std::optional<std::string> first_time_column;
  std::vector<PartitionFacts> partitions;  ///< ordered by lower bound, unbounded first
  /// The top of the partition tree the table belongs to (PostgreSQL: pg_partition_root), when
  /// it is in one. A run works on the tables of one tree in one session, one after the other:
  /// a drop locks the partition's parent, and dropping a sub-partitioned partition takes the
  /// partitions below it along, so two sessions in one tree would wait for each other or
  /// deadlock.
  std::optional<std::int64_t> tree_root;
};

/// Tablespaces and other database-wide facts the planner checks targets against.
struct DatabaseFacts {
  std::vector<std::string> tablespaces;
  /// Where a partition with no tablespace of its own lives (catalog shows "" for it).
  std::string default_tablespace = "pg_default";
};

/// What the engine asks the catalog about: a policy's table and, for plain tables, its time
/// column.
struct TableRequest {
  QualifiedName table;
  std::optional<std::string> time_column;
  friend bool operator==(const TableRequest&, const TableRequest&) = default;
};

/// Whether a column type is one retention can compare with a cutoff.
[[nodiscard]] bool is_supported_time_type(std::string_view type);

}  // namespace retentiond
