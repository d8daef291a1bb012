#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <pqxx/connection>

#include "retentiond/engine/catalog.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {

/// Everything that differs between databases: how the catalog is read and how each operation
/// is spelled. A database is one implementation of this interface in its own files (rendering
/// is pure; catalog reading is the only I/O), listed once in dialect/registry.cpp.
/// How a partition is detached: under an exclusive lock of the parent, in the two transactions
/// of `CONCURRENTLY`, or by finishing a concurrent detach that was interrupted (`FINALIZE`).
enum class DetachMode { locking, concurrently, finalize };

class Dialect {
 public:
  virtual ~Dialect() = default;

  [[nodiscard]] virtual std::string_view name() const = 0;

  /// The facts of every requested table, in request order, in a constant number of queries
  /// whatever the number of tables and partitions. Missing tables come back with exists = false.
  [[nodiscard]] virtual std::vector<TableFacts> describe_tables(pqxx::connection& connection,
                                                                const std::vector<TableRequest>& tables) const = 0;
  [[nodiscard]] virtual DatabaseFacts describe_database(pqxx::connection& connection) const = 0;

  // Rendering: pure functions of names and values; every identifier quoted.
  [[nodiscard]] virtual std::string drop_table(const QualifiedName& table) const = 0;
  /// One statement that drops all of `tables` (none empty): a group of expired partitions goes
  /// in one statement, which costs the server markedly less than one statement per partition.
  [[nodiscard]] virtual std::string drop_tables(const std::vector<QualifiedName>& tables) const = 0;
  [[nodiscard]] virtual std::string detach_partition(const QualifiedName& parent, const QualifiedName& partition,
                                                     DetachMode mode) const = 0;
  [[nodiscard]] virtual std::string set_tablespace(const QualifiedName& partition,
                                                   const std::string& tablespace) const = 0;
  /// One bounded batch of a plain-table delete: `$1` is the cutoff, `$2` the batch size.
  [[nodiscard]] virtual std::string delete_batch(const QualifiedName& table, const std::string& column) const = 0;
  /// A boolean expression: does the table hold any row before the cutoff in parameter `$n`?
  [[nodiscard]] virtual std::string any_row_before(const QualifiedName& table, const std::string& column,
                                                   int parameter) const = 0;
  /// The cutoff as a parameter value for a column of `type`.
  [[nodiscard]] virtual std::string cutoff_parameter(std::chrono::sys_seconds cutoff, std::string_view type) const = 0;
  /// Streams a partition's rows (COPY ... TO STDOUT).
  [[nodiscard]] virtual std::string copy_out(const QualifiedName& partition) const = 0;
  /// Sets the lock timeout of the current transaction.
  [[nodiscard]] virtual std::string set_lock_timeout(std::chrono::milliseconds timeout) const = 0;
};

/// `postgresql` (and later `cratedb`); `auto` asks the server which it is. Throws a usage Error
/// for an unknown name.
[[nodiscard]] std::unique_ptr<Dialect> make_dialect(std::string_view name, pqxx::connection& connection);

}  // namespace retentiond
