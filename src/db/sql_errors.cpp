#include "retentiond/db/sql_errors.hpp"

#include "retentiond/db/connection.hpp"

namespace retentiond {

Error error_from_sql(const pqxx::sql_error& error) {
  // libpqxx 6.4 leaves sqlstate() empty on some paths but always throws the class its SQLSTATE
  // maps to: insufficient_privilege is 42501, data_exception the whole class 22.
  const std::string& state = error.sqlstate();
  const std::string message = first_line(error.what());
  if (dynamic_cast<const pqxx::insufficient_privilege*>(&error) != nullptr || state == "42501") {
    return usage_error("permission denied: " + message);
  }
  if (dynamic_cast<const pqxx::data_exception*>(&error) != nullptr || state.starts_with("22")) {
    return usage_error("the database refused a value: " + message);
  }
  return database_error("database error: " + message);
}

}  // namespace retentiond
