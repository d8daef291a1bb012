#include <pqxx/pqxx>

#include "retentiond/core/error.hpp"
#include "retentiond/dialect/dialect.hpp"
#include "retentiond/dialect/postgresql.hpp"

namespace retentiond {

std::unique_ptr<Dialect> make_dialect(std::string_view name, pqxx::connection& connection) {
  if (name == "auto") {
    // CrateDB speaks the PostgreSQL protocol but names itself in version().
    pqxx::read_transaction tx(connection);
    const auto version = tx.exec1("SELECT version()")[0].as<std::string>();
    name = version.find("CrateDB") != std::string::npos ? "cratedb" : "postgresql";
  }
  if (name == "postgresql") return std::make_unique<PostgresqlDialect>();
  if (name == "cratedb") throw usage_error("the cratedb dialect is not available in this version of retentiond");
  throw usage_error("unknown database dialect \"" + std::string(name) + "\": expected auto, postgresql or cratedb");
}

}  // namespace retentiond
