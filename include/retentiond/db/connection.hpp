#pragma once

#include <memory>
#include <string>

#include <pqxx/connection>

#include "retentiond/config/config.hpp"

namespace retentiond {

/// Opens a connection to the managed database. An unreachable server, bad credentials or a
/// malformed URL become a database Error (exit 3) whose message shows the URL with its password
/// redacted. The session gets `application_name = retentiond` and the configured
/// statement_timeout.
[[nodiscard]] std::unique_ptr<pqxx::connection> connect(const Config::Database& database);

/// `message` with whatever redact_url() hides in `url` (its password) replaced by `***`: libpq
/// quotes pieces of a malformed conninfo in its errors.
[[nodiscard]] std::string scrub_secret(std::string message, const std::string& url);

/// Whether the server is a hot standby (pg_is_in_recovery()): it accepts reads only.
[[nodiscard]] bool in_recovery(pqxx::connection& connection);

/// Sets libpq's PGCONNECT_TIMEOUT (database.connect_timeout) and PGAPPNAME once per process;
/// connect() calls it, a multi-threaded caller calls it before its first thread.
void prepare_libpq_environment(const Config::Database& database);

/// The first line of a driver or server error, without libpq's trailing newline and "ERROR:"
/// prefix, for one-line messages.
[[nodiscard]] std::string first_line(const std::string& message);

}  // namespace retentiond
