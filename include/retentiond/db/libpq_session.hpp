#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "retentiond/config/config.hpp"

struct pg_conn;

namespace retentiond {

/// What LibpqSession throws when the server refuses a statement: one line, and the SQLSTATE
/// (empty when the failure was not the server's, e.g. a lost connection), so a caller can tell
/// a cancel (57014) from other failures without reading the message.
class LibpqError : public std::runtime_error {
 public:
  LibpqError(const std::string& message, std::string sqlstate)
      : std::runtime_error(message), sqlstate_(std::move(sqlstate)) {}
  [[nodiscard]] const std::string& sqlstate() const { return sqlstate_; }

 private:
  std::string sqlstate_;
};

/// A plain libpq connection for streaming COPY in and out as raw bytes, which libpqxx 6.4 offers
/// no safe API for (its table streams parse rows; snapshots need the COPY text verbatim).
/// Same session setup as connect(): connect_timeout, application_name, statement_timeout.
class LibpqSession {
 public:
  /// Throws a database Error (exit 3) naming the URL with its password redacted.
  explicit LibpqSession(const Config::Database& database);
  ~LibpqSession();
  LibpqSession(const LibpqSession&) = delete;
  LibpqSession& operator=(const LibpqSession&) = delete;
  LibpqSession(LibpqSession&&) = delete;
  LibpqSession& operator=(LibpqSession&&) = delete;

  /// Runs one statement (no result rows expected). `$n` placeholders take `params` (sent as
  /// text parameters, never spliced into the SQL); only one statement is accepted.
  void execute(const std::string& sql, const std::vector<std::string>& params = {});
  /// Runs one query and returns its rows as text; NULL is nullopt.
  using Rows = std::vector<std::vector<std::optional<std::string>>>;
  Rows query(const std::string& sql, const std::vector<std::string>& params = {});

  /// Runs a `COPY ... TO STDOUT` and hands every chunk the server sends (one row each in text
  /// format) to `sink`; returns the row count the server reports.
  std::int64_t copy_out(const std::string& sql, const std::function<void(std::string_view)>& sink);

  /// Runs a `COPY ... FROM STDIN`; `produce` is called with a function that sends bytes (any
  /// chunking). Returns the row count the server reports. If `produce` throws, the COPY is
  /// aborted and the exception passes on.
  using Put = std::function<void(std::string_view)>;
  std::int64_t copy_in(const std::string& sql, const std::function<void(const Put&)>& produce);

  /// `text` as a string literal for this connection (PQescapeLiteral), for the few statements
  /// that cannot take parameters (DDL).
  [[nodiscard]] std::string literal(std::string_view text);

  /// The server process of this session, for pg_cancel_backend from another session.
  [[nodiscard]] int backend_pid() const;

  /// Whether the connection is still usable (a failed statement leaves it usable; a lost
  /// server does not).
  [[nodiscard]] bool connected() const;

 private:
  pg_conn* connection_ = nullptr;
};

}  // namespace retentiond
