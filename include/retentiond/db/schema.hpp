#pragma once

#include <string>
#include <vector>

#include <pqxx/connection>

namespace retentiond {

struct SetupReport {
  int version_before = 0;  ///< 0: the schema did not exist
  int version_after = 0;
  std::vector<std::string> applied;  ///< "1 initial schema: ..." per migration applied
};

/// Creates or upgrades the retention schema. Each migration runs in its own transaction with
/// its version row, so a failure leaves the schema at the last complete version; an advisory
/// lock makes concurrent `setup` runs wait for each other instead of racing. Running it on a
/// current schema changes nothing. A schema newer than this binary is a database Error.
SetupReport setup_schema(pqxx::connection& connection, const std::string& schema);

/// The schema's version, 0 when the schema or its migrations table does not exist.
[[nodiscard]] int schema_version(pqxx::connection& connection, const std::string& schema);

/// Every command but `setup` starts here: a missing schema ("run `retentiond setup`"), an older
/// one, or one newer than this binary is a database Error (exit 3) naming the versions.
void require_current_schema(pqxx::connection& connection, const std::string& schema);

}  // namespace retentiond
