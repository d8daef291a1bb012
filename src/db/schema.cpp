#include "retentiond/db/schema.hpp"

#include <pqxx/nontransaction>
#include <pqxx/transaction>

#include "retentiond/core/error.hpp"
#include "retentiond/db/migrations.hpp"
#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

// Arbitrary but fixed: every retentiond agrees on it, nothing else is expected to use it.
constexpr long long setup_lock_key = 0x7265746e'7365; // "retnse"

constexpr const char* migrations_table_exists_sql = R"sql(
SELECT EXISTS (
  SELECT 1 FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname = $1 AND c.relname = 'schema_migrations')
)sql";

// A schema of the user's that already holds a relation with one of the names retentiond's
// migrations create: setup would fail half-way on it, or worse, adopt a table it did not make.
constexpr const char* foreign_relation_sql = R"sql(
SELECT c.relname::text
  FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = $1 AND c.relname = ANY (ARRAY['schema_migrations', 'policies', 'policy_events', 'jobs_log',
                                                 'leases', 'policy_state'])
 ORDER BY 1 LIMIT 1)sql";

constexpr const char* schema_exists_sql =
    "SELECT EXISTS (SELECT 1 FROM pg_catalog.pg_namespace WHERE nspname = $1)";

int read_version(pqxx::transaction_base& tx, const std::string& schema) {
  if (!tx.exec_params1(migrations_table_exists_sql, schema)[0].as<bool>()) return 0;
  return tx.exec1("SELECT coalesce(max(version), 0) FROM " + quote_identifier(schema) + ".schema_migrations")[0]
      .as<int>();
}

void refuse_newer(int found, const std::string& schema) {
  if (found > latest_schema_version()) {
    throw database_error("retention schema \"" + schema + "\" is at version " + std::to_string(found) +
                         ", newer than this retentiond (version " + std::to_string(latest_schema_version()) +
                         "); upgrade retentiond");
  }
}

// Holds a session-level advisory lock for the lifetime of the object.
class SetupLock {
 public:
  explicit SetupLock(pqxx::connection& connection) : connection_(connection) {
    pqxx::nontransaction(connection_).exec("SELECT pg_advisory_lock(" + std::to_string(setup_lock_key) + ")");
  }
  ~SetupLock() {
    try {
      pqxx::nontransaction(connection_).exec("SELECT pg_advisory_unlock(" + std::to_string(setup_lock_key) + ")");
    } catch (...) {
      // The lock dies with the session anyway; failing to release it early must not mask the
      // error that is unwinding.
    }
  }
  SetupLock(const SetupLock&) = delete;
  SetupLock& operator=(const SetupLock&) = delete;

 private:
  pqxx::connection& connection_;
};

}  // namespace

int schema_version(pqxx::connection& connection, const std::string& schema) {
  pqxx::read_transaction tx(connection);
  return read_version(tx, schema);
}

SetupReport setup_schema(pqxx::connection& connection, const std::string& schema) {
  SetupLock lock(connection);
  SetupReport report;
  report.version_before = schema_version(connection, schema);
  refuse_newer(report.version_before, schema);
  report.version_after = report.version_before;
  if (report.version_before == latest_schema_version()) return report;

  for (const auto& migration : migrations()) {
    if (migration.version <= report.version_after) continue;
    pqxx::work tx(connection);
    if (report.version_after == 0) {
      // The schema, its migrations table and the first migration commit together: a setup that
      // fails leaves nothing behind, not a schema_migrations table that claims version 0.
      const std::string quoted = quote_identifier(schema);
      if (auto clash = tx.exec_params(foreign_relation_sql, schema); !clash.empty()) {
        throw usage_error("schema " + quote_input(schema) + " already holds a table " +
                          quote_input(clash[0][0].as<std::string>()) +
                          " that retentiond did not create; choose another --schema (database.schema)");
      }
      if (!tx.exec_params1(schema_exists_sql, schema)[0].as<bool>()) tx.exec0("CREATE SCHEMA " + quoted);
      tx.exec0("CREATE TABLE " + quoted + R"sql(.schema_migrations (
  version    integer PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now(),
  applied_by text NOT NULL DEFAULT current_user
))sql");
    }
    tx.exec0(render_migration(migration, schema));
    tx.exec_params0("INSERT INTO " + quote_identifier(schema) + ".schema_migrations (version, name) VALUES ($1, $2)",
                    migration.version, std::string(migration.name));
    tx.commit();
    report.version_after = migration.version;
    report.applied.push_back(std::to_string(migration.version) + " " + std::string(migration.name));
  }
  return report;
}

void require_current_schema(pqxx::connection& connection, const std::string& schema) {
  const int found = schema_version(connection, schema);
  if (found == 0) {
    throw database_error("retention schema \"" + schema + "\" not found; run `retentiond setup`");
  }
  refuse_newer(found, schema);
  if (found < latest_schema_version()) {
    throw database_error("retention schema \"" + schema + "\" is at version " + std::to_string(found) +
                         ", this retentiond needs version " + std::to_string(latest_schema_version()) +
                         "; run `retentiond setup`");
  }
}

}  // namespace retentiond
