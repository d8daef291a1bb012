#include <cstdio>

#include "retentiond/dialect/postgresql.hpp"
#include "retentiond/engine/plan.hpp"

namespace retentiond {

std::string PostgresqlDialect::drop_table(const QualifiedName& table) const {
  return "DROP TABLE " + table.quoted();
}

std::string PostgresqlDialect::drop_tables(const std::vector<QualifiedName>& tables) const {
  std::string sql = "DROP TABLE ";
  for (std::size_t i = 0; i < tables.size(); ++i) {
    if (i > 0) sql += ", ";
    sql += tables[i].quoted();
  }
  return sql;
}

std::string PostgresqlDialect::detach_partition(const QualifiedName& parent, const QualifiedName& partition,
                                                DetachMode mode) const {
  const char* suffix = mode == DetachMode::concurrently ? " CONCURRENTLY"
                       : mode == DetachMode::finalize   ? " FINALIZE"
                                                        : "";
  return "ALTER TABLE " + parent.quoted() + " DETACH PARTITION " + partition.quoted() + suffix;
}

std::string PostgresqlDialect::set_tablespace(const QualifiedName& partition,
                                              const std::string& tablespace) const {
  return "ALTER TABLE " + partition.quoted() + " SET TABLESPACE " + quote_identifier(tablespace);
}

// ctid batches bound each transaction's size without needing a key; ORDER BY is left out on
// purpose: any expired rows will do, and the planner must not be forced into a sort. ONLY: a
// ctid is unique within one relation, so with (legacy, inheritance) children the same ctid
// could name a live row of a child; a policy covers its own table's rows.
std::string PostgresqlDialect::delete_batch(const QualifiedName& table, const std::string& column) const {
  return "DELETE FROM ONLY " + table.quoted() + " WHERE ctid = ANY(ARRAY(SELECT ctid FROM ONLY " +
         table.quoted() + " WHERE " + quote_identifier(column) + " < $1 LIMIT $2))";
}

std::string PostgresqlDialect::any_row_before(const QualifiedName& table, const std::string& column,
                                              int parameter) const {
  return "EXISTS (SELECT 1 FROM ONLY " + table.quoted() + " WHERE " + quote_identifier(column) + " < $" +
         std::to_string(parameter) + ")";
}

std::string PostgresqlDialect::cutoff_parameter(std::chrono::sys_seconds cutoff,
                                                std::string_view type) const {
  // ISO text that each of timestamptz (explicit UTC offset), timestamp (read as UTC, like every
  // cutoff) and date reads exactly; a date cutoff is the day of the instant. A ttl of millennia
  // puts the cutoff before year 1, which PostgreSQL spells with a BC suffix (year 0 is 1 BC).
  using namespace std::chrono;
  const auto day = floor<days>(cutoff);
  const year_month_day date{day};
  const hh_mm_ss time{cutoff - day};
  const int y = static_cast<int>(date.year());
  char text[64];
  std::snprintf(text, sizeof text, "%04d-%02u-%02u %02d:%02d:%02d", y > 0 ? y : 1 - y,
                static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
                static_cast<int>(time.hours().count()), static_cast<int>(time.minutes().count()),
                static_cast<int>(time.seconds().count()));
  std::string out = text;
  if (type == "date") {
    out.resize(out.find(' '));
  } else if (type == "timestamp with time zone") {
    out += "+00";
  }
  if (y <= 0) out += " BC";
  return out;
}

std::string PostgresqlDialect::copy_out(const QualifiedName& partition) const {
  return "COPY " + partition.quoted() + " TO STDOUT";
}

std::string PostgresqlDialect::set_lock_timeout(std::chrono::milliseconds timeout) const {
  return "SET LOCAL lock_timeout = " + std::to_string(timeout.count());
}

}  // namespace retentiond
