#pragma once

#include <optional>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// Reads and writes `<schema>.policies`. Every change runs in one transaction together with its
/// `policy_events` row (action, actor = database user and client address, before and after), so
/// the audit trail can never miss or invent a change. Nothing is written when a check fails.
class PolicyStore {
 public:
  PolicyStore(pqxx::connection& connection, std::string schema);

  /// Policies carrying every tag of `tags` (all when empty), ordered by id.
  [[nodiscard]] std::vector<Policy> list(const std::vector<std::string>& tags = {});
  /// Throws a usage Error (`policy "x" not found`) when it does not exist.
  [[nodiscard]] Policy get(const std::string& id);

  /// Validates against the live catalog (table exists and is a table, partition column exists,
  /// plain tables get a partition column and only strategies that work on rows), fills a
  /// missing id with a readable unique one, inserts, and returns the stored policy.
  Policy add(Policy policy);
  /// Replaces the stored policy `updated.id` with `updated` after the same checks. Returns false
  /// (and writes nothing) when nothing changed.
  bool update(const Policy& updated);
  /// Sets enabled; returns false when it already had that value.
  bool set_enabled(const std::string& id, bool enabled);
  /// Removes the policies; every id must exist (checked before anything is removed).
  void remove(const std::vector<std::string>& ids);

 private:
  pqxx::connection& connection_;
  std::string schema_;
  std::string policies_;  ///< quoted `"schema".policies`
  std::string events_;    ///< quoted `"schema".policy_events`
};

}  // namespace retentiond
