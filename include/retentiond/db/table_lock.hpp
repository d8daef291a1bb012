#pragma once

#include <string>

#include <pqxx/connection>

#include "retentiond/sql/identifier.hpp"

namespace retentiond {

/// The session-level advisory lock that keeps one table in one retentiond session at a time:
/// the daemon's workers and `run --once` take the same key (the retention schema and the
/// table's name), so a one-shot run beside a daemon never works on a table the daemon is
/// working on. The lock goes with the session: a process killed mid-run frees it at once.
/// True when this session holds it afterwards (taking it again in the same session succeeds).
[[nodiscard]] bool try_lock_table(pqxx::connection& connection, const std::string& schema,
                                  const QualifiedName& table);

}  // namespace retentiond
