#pragma once

#include <optional>
#include <set>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "retentiond/config/config.hpp"
#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// Reads and writes `<schema>.policies`. Every change runs in one transaction together with its
/// `policy_events` row (action, actor = database user and client address, before and after), so
/// the audit trail can never miss or invent a change. Nothing is written when a check fails.
class PolicyStore {
 public:
  PolicyStore(pqxx::connection& connection, std::string schema);
  /// A store that also checks a snapshot policy's repository against `snapshot.repositories`
  /// when a policy is written.
  PolicyStore(pqxx::connection& connection, const Config& config);

  /// Policies carrying every tag of `tags` (all when empty), ordered by id.
  [[nodiscard]] std::vector<Policy> list(const std::vector<std::string>& tags = {});
  /// Throws a usage Error (`policy "x" not found`) when it does not exist.
  [[nodiscard]] Policy get(const std::string& id);

  /// Validates against the live catalog (table_ineligibility: the rule planning applies; the
  /// tablespace of a reallocate exists; the repository of a snapshot is configured) and against
  /// the table's other policies (policy_conflict), fills a missing id with a readable unique
  /// one, inserts, and returns the stored policy.
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
  std::optional<std::set<std::string>> repositories_;  ///< configured snapshot repositories, when known
};

}  // namespace retentiond
