#pragma once

#include <pqxx/except>

#include "retentiond/core/error.hpp"

namespace retentiond {

/// What a database error that ended a command (outside a job, which records its own failure)
/// means for the exit code, decided by SQLSTATE (libpqxx's exception class for it), never by message text:
/// insufficient_privilege (42501) is the configured role lacking a privilege and data
/// exceptions (class 22) are a value the server refused: both exit 2, like other configuration
/// and validation errors; connection trouble, shutdown and resource limits (08, 57P, 53) and
/// anything unexpected keep exit 3.
[[nodiscard]] Error error_from_sql(const pqxx::sql_error& error);

}  // namespace retentiond
