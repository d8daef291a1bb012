#pragma once

#include <pqxx/transaction_base>

#include "retentiond/dialect/dialect.hpp"

namespace retentiond {

/// The facts of every requested table, without their partitions, read in `tx` (one query):
/// what describe_tables starts from, and what adding or editing a policy checks in its
/// writing transaction.
[[nodiscard]] std::vector<TableFacts> postgresql_table_facts(pqxx::transaction_base& tx,
                                                             const std::vector<TableRequest>& tables);

/// PostgreSQL 13+: declarative range partitioning, tablespaces, COPY.
class PostgresqlDialect final : public Dialect {
 public:
  [[nodiscard]] std::string_view name() const override { return "postgresql"; }

  // postgresql_catalog.cpp
  [[nodiscard]] std::vector<TableFacts> describe_tables(pqxx::connection& connection,
                                                        const std::vector<TableRequest>& tables) const override;
  [[nodiscard]] DatabaseFacts describe_database(pqxx::connection& connection) const override;

  // postgresql_render.cpp
  [[nodiscard]] std::string drop_table(const QualifiedName& table) const override;
  [[nodiscard]] std::string drop_tables(const std::vector<QualifiedName>& tables) const override;
  [[nodiscard]] std::string detach_partition(const QualifiedName& parent, const QualifiedName& partition,
                                             DetachMode mode) const override;
  [[nodiscard]] std::string set_tablespace(const QualifiedName& partition, const std::string& tablespace) const override;
  [[nodiscard]] std::string delete_batch(const QualifiedName& table, const std::string& column) const override;
  [[nodiscard]] std::string any_row_before(const QualifiedName& table, const std::string& column,
                                           int parameter) const override;
  [[nodiscard]] std::string cutoff_parameter(std::chrono::sys_seconds cutoff, std::string_view type) const override;
  [[nodiscard]] std::string copy_out(const QualifiedName& partition) const override;
  [[nodiscard]] std::string set_lock_timeout(std::chrono::milliseconds timeout) const override;
};

}  // namespace retentiond
