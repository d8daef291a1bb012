#include "retentiond/engine/table_eligibility.hpp"

#include "retentiond/core/error.hpp"
#include "retentiond/strategy/strategy.hpp"

namespace retentiond {
namespace {

std::string relkind_name(const std::string& kind) {
  if (kind == "v") return "a view";
  if (kind == "m") return "a materialized view";
  if (kind == "f") return "a foreign table";
  if (kind == "S") return "a sequence";
  if (kind == "i" || kind == "I") return "an index";
  if (kind == "c") return "a composite type";
  if (kind == "t") return "a TOAST table";
  return "not a table";
}

std::string method_name(PartitionMethod method) {
  switch (method) {
    case PartitionMethod::range:
      return "RANGE";
    case PartitionMethod::list:
      return "LIST";
    case PartitionMethod::hash:
      return "HASH";
  }
  return "RANGE";
}

constexpr const char* time_types = "timestamptz, timestamp or date";

std::optional<std::string> plain_table_reason(const TableFacts& table, const Policy& policy,
                                              const StrategySpec* strategy) {
  const std::string name = policy.table.display();
  if (table.is_partition) return name + " is a partition of another table; give the policy to its parent";
  if (strategy != nullptr && strategy->needs_partitions) {
    return "strategy " + policy.strategy + " needs a partitioned table; " + name + " is a plain table";
  }
  if (!policy.partition_column) {
    // A suggestion only where it would be accepted: a real column of a time type.
    if (table.first_time_column) {
      return name + " is not partitioned: name its time column, e.g. " + name + ":" +
             display_identifier(*table.first_time_column);
    }
    return name + " is not partitioned and has no column of type " + time_types;
  }
  const std::string column = "column " + quote_input(*policy.partition_column);
  if (table.key_type.empty()) return column + " does not exist in " + name;
  if (!is_supported_time_type(table.key_type)) {
    return column + " of " + name + " is " + table.key_type + "; retention needs " + time_types;
  }
  return std::nullopt;
}

std::optional<std::string> partitioned_table_reason(const TableFacts& table, const Policy& policy) {
  const std::string name = policy.table.display();
  const std::string needs = "; retention needs a table partitioned by RANGE on one column of type " +
                            std::string(time_types);
  if (table.method != PartitionMethod::range) {
    return name + " is partitioned by " + method_name(table.method) + needs;
  }
  if (table.key_columns != 1) {
    return name + " has a partition key of " + std::to_string(table.key_columns) + " columns" + needs;
  }
  if (table.key_has_expression || !table.key_column) return name + " is partitioned by an expression" + needs;
  if (policy.partition_column && *policy.partition_column != *table.key_column) {
    return "partition column " + quote_input(*policy.partition_column) + " does not match the partition key of " +
           name + " (" + quote_input(*table.key_column) + ")";
  }
  if (!is_supported_time_type(table.key_type)) {
    return "the partition key " + quote_input(*table.key_column) + " of " + name + " is " + table.key_type +
           "; retention needs " + time_types + " (numeric epoch keys are not supported)";
  }
  return std::nullopt;
}

}  // namespace

std::optional<std::string> protected_schema_reason(std::string_view schema, std::string_view retention_schema) {
  if (schema == retention_schema) {
    return "it belongs to retentiond's own schema " + quote_input(schema) + " (policies, audit trail)";
  }
  if (schema == "pg_catalog" || schema == "information_schema" || schema == "pg_toast") {
    return "it is in the system schema " + quote_input(schema);
  }
  if (schema == "pg_temp" || schema.starts_with("pg_temp_") || schema.starts_with("pg_toast_temp_")) {
    return "it is in the temporary schema " + quote_input(schema) + " of a session";
  }
  return std::nullopt;
}

std::optional<std::string> table_ineligibility(const TableFacts& table, const Policy& policy,
                                               std::string_view retention_schema) {
  const std::string name = policy.table.display();
  if (auto reason = protected_schema_reason(policy.table.schema, retention_schema)) {
    return "no policy may work on " + name + ": " + *reason;
  }
  if (table.relkind.empty() && !table.exists) return "table " + name + " does not exist";
  if (table.temporary) return "no policy may work on " + name + ": it is a temporary table of a session";
  if (!table.exists) return name + " is " + relkind_name(table.relkind) + ", not a table";
  if (!table.partitioned) return plain_table_reason(table, policy, find_strategy(policy.strategy));
  return partitioned_table_reason(table, policy);
}

}  // namespace retentiond
