#include "retentiond/db/table_lock.hpp"

#include <pqxx/nontransaction>

namespace retentiond {

bool try_lock_table(pqxx::connection& connection, const std::string& schema, const QualifiedName& table) {
  pqxx::nontransaction session(connection);
  const bool mine = session
                        .exec_params1("SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))",
                                      "retentiond " + schema, table.display())[0]
                        .as<bool>();
  session.commit();
  return mine;
}

}  // namespace retentiond
