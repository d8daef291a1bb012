#include "retentiond/dialect/postgresql.hpp"
#include "retentiond/engine/plan.hpp"

namespace retentiond {

std::string PostgresqlDialect::drop_table(const QualifiedName& table) const { return "DROP TABLE " + table.quoted(); }

std::string PostgresqlDialect::detach_partition(const QualifiedName& parent, const QualifiedName& partition,
                                                bool concurrently) const {
  return "ALTER TABLE " + parent.quoted() + " DETACH PARTITION " + partition.quoted() +
         (concurrently ? " CONCURRENTLY" : "");
}

std::string PostgresqlDialect::set_tablespace(const QualifiedName& partition, const std::string& tablespace) const {
  return "ALTER TABLE " + partition.quoted() + " SET TABLESPACE " + quote_identifier(tablespace);
}

// ctid batches bound each transaction's size without needing a key; ORDER BY is left out on
// purpose: any expired rows will do, and the planner must not be forced into a sort.
std::string PostgresqlDialect::delete_batch(const QualifiedName& table, const std::string& column) const {
  return "DELETE FROM " + table.quoted() + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM " + table.quoted() + " WHERE " +
         quote_identifier(column) + " < $1 LIMIT $2))";
}

std::string PostgresqlDialect::any_row_before(const QualifiedName& table, const std::string& column,
                                              int parameter) const {
  return "EXISTS (SELECT 1 FROM " + table.quoted() + " WHERE " + quote_identifier(column) + " < $" +
         std::to_string(parameter) + ")";
}

std::string PostgresqlDialect::cutoff_parameter(std::chrono::sys_seconds cutoff, std::string_view type) const {
  // ISO text that each of timestamptz (explicit UTC offset), timestamp (read as UTC, like every
  // cutoff) and date reads exactly; a date cutoff is the day of the instant.
  std::string iso = format_instant(cutoff);  // 2024-01-02T03:04:05Z
  if (type == "date") return iso.substr(0, 10);
  std::string text = iso.substr(0, 10) + " " + iso.substr(11, 8);
  if (type == "timestamp with time zone") text += "+00";
  return text;
}

std::string PostgresqlDialect::copy_out(const QualifiedName& partition) const {
  return "COPY " + partition.quoted() + " TO STDOUT";
}

std::string PostgresqlDialect::set_lock_timeout(std::chrono::milliseconds timeout) const {
  return "SET LOCAL lock_timeout = " + std::to_string(timeout.count());
}

}  // namespace retentiond
