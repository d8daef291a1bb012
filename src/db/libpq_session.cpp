#include "retentiond/db/libpq_session.hpp"

#include <algorithm>
#include <chrono>
#include <memory>
#include <stdexcept>

#include <libpq-fe.h>

#include "retentiond/core/error.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/conninfo.hpp"

namespace retentiond {
namespace {

struct ResultDeleter {
  void operator()(PGresult* result) const { PQclear(result); }
};
using Result = std::unique_ptr<PGresult, ResultDeleter>;

std::string error_of(PGconn* connection) { return first_line(PQerrorMessage(connection)); }

std::string error_of(PGconn* connection, const PGresult* result) {
  const char* message = result != nullptr ? PQresultErrorMessage(result) : "";
  return first_line(message != nullptr && *message != '\0' ? message : PQerrorMessage(connection));
}

std::string sqlstate_of(const PGresult* result) {
  const char* state = result != nullptr ? PQresultErrorField(result, PG_DIAG_SQLSTATE) : nullptr;
  return state != nullptr ? state : "";
}

[[noreturn]] void fail(PGconn* connection, const PGresult* result) {
  throw LibpqError(error_of(connection, result), sqlstate_of(result));
}

Result run(PGconn* connection, const std::string& sql, const std::vector<std::string>& params) {
  std::vector<const char*> values;
  values.reserve(params.size());
  for (const auto& p : params) values.push_back(p.c_str());
  // PQexecParams even without parameters: it accepts exactly one statement, so SQL taken from
  // a manifest can never smuggle in a second one.
  return Result(PQexecParams(connection, sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                             nullptr, nullptr, 0));
}

std::int64_t command_rows(const PGresult* result) {
  const char* tuples = PQcmdTuples(const_cast<PGresult*>(result));
  return tuples != nullptr && *tuples != '\0' ? std::stoll(tuples) : 0;
}

// Drains the results that follow a COPY and throws the first error among them.
std::int64_t finish_copy(PGconn* connection) {
  std::int64_t rows = 0;
  std::optional<LibpqError> error;
  while (Result result{PQgetResult(connection)}) {
    if (PQresultStatus(result.get()) == PGRES_COMMAND_OK) {
      rows = command_rows(result.get());
    } else if (!error) {
      error.emplace(error_of(connection, result.get()), sqlstate_of(result.get()));
    }
  }
  if (error) throw *error;
  return rows;
}

}  // namespace

LibpqSession::LibpqSession(const Config::Database& database) {
  const auto timeout = std::to_string(std::max<long long>(2, database.connect_timeout.seconds().count()));
  const ConnectionString target = connection_string(database);
  // With expand_dbname, later keywords override earlier ones: the conninfo comes last so that a
  // URL naming its own connect_timeout or application_name keeps it. It always holds at least
  // the keepalive options, so libpq always expands it (an empty URL still means libpq's
  // defaults and PG* variables, as everywhere else).
  const char* keywords[] = {"connect_timeout", "application_name", "dbname", nullptr};
  const char* values[] = {timeout.c_str(), "retentiond", target.conninfo.c_str(), nullptr};
  connection_ = PQconnectdbParams(keywords, values, 1);
  if (connection_ == nullptr || PQstatus(connection_) != CONNECTION_OK) {
    const std::string why = connection_ != nullptr ? error_of(connection_) : "out of memory";
    PQfinish(connection_);
    connection_ = nullptr;
    const std::string where = database.url.empty() ? "(libpq defaults)" : redact_url(database.url);
    throw database_error("cannot connect to database " + where + ": " +
                         scrub_password(scrub_secret(why, database.url), target.password));
  }
  const auto statement_ms =
      std::chrono::duration_cast<std::chrono::milliseconds>(database.statement_timeout.seconds());
  execute("SET statement_timeout = " + std::to_string(statement_ms.count()));
}

LibpqSession::~LibpqSession() { PQfinish(connection_); }

std::string LibpqSession::literal(std::string_view text) {
  const std::unique_ptr<char, decltype(&PQfreemem)> escaped(
      PQescapeLiteral(connection_, text.data(), text.size()), &PQfreemem);
  if (!escaped) throw LibpqError("cannot quote a literal: " + error_of(connection_), "");
  return escaped.get();
}

int LibpqSession::backend_pid() const { return PQbackendPID(connection_); }

bool LibpqSession::connected() const { return PQstatus(connection_) == CONNECTION_OK; }

void LibpqSession::execute(const std::string& sql, const std::vector<std::string>& params) {
  Result result = run(connection_, sql, params);
  const auto status = result ? PQresultStatus(result.get()) : PGRES_FATAL_ERROR;
  if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) fail(connection_, result.get());
}

LibpqSession::Rows LibpqSession::query(const std::string& sql, const std::vector<std::string>& params) {
  Result result = run(connection_, sql, params);
  if (!result || PQresultStatus(result.get()) != PGRES_TUPLES_OK) fail(connection_, result.get());
  Rows rows;
  const int n = PQntuples(result.get());
  const int columns = PQnfields(result.get());
  rows.reserve(static_cast<std::size_t>(n));
  for (int r = 0; r < n; ++r) {
    auto& row = rows.emplace_back();
    for (int c = 0; c < columns; ++c) {
      if (PQgetisnull(result.get(), r, c)) {
        row.emplace_back(std::nullopt);
      } else {
        row.emplace_back(std::string(PQgetvalue(result.get(), r, c),
                                     static_cast<std::size_t>(PQgetlength(result.get(), r, c))));
      }
    }
  }
  return rows;
}

std::int64_t LibpqSession::copy_out(const std::string& sql,
                                    const std::function<void(std::string_view)>& sink) {
  {
    Result start = run(connection_, sql, {});
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_OUT) fail(connection_, start.get());
  }
  for (;;) {
    char* buffer = nullptr;
    const int n = PQgetCopyData(connection_, &buffer, 0);
    if (n > 0) {
      std::unique_ptr<char, decltype(&PQfreemem)> owned(buffer, &PQfreemem);
      sink(std::string_view(buffer, static_cast<std::size_t>(n)));
      continue;
    }
    if (n == -1) break;  // COPY finished (or was cancelled); the outcome is in the results that follow
    throw LibpqError("COPY failed: " + error_of(connection_), "");
  }
  return finish_copy(connection_);
}

std::int64_t LibpqSession::copy_in(const std::string& sql, const std::function<void(const Put&)>& produce) {
  {
    Result start = run(connection_, sql, {});
    if (!start || PQresultStatus(start.get()) != PGRES_COPY_IN) fail(connection_, start.get());
  }
  const Put put = [this](std::string_view bytes) {
    if (bytes.empty()) return;
    // Blocking connection: 1 means queued, -1 an error (0 only happens in nonblocking mode).
    if (PQputCopyData(connection_, bytes.data(), static_cast<int>(bytes.size())) != 1) {
      throw std::runtime_error("COPY failed: " + error_of(connection_));
    }
  };
  try {
    produce(put);
  } catch (...) {
    // Ends the COPY with an error on the server side, so the transaction fails as a whole.
    PQputCopyEnd(connection_, "aborted by retentiond");
    try {
      (void)finish_copy(connection_);
    } catch (const std::exception&) {
      // Expected: the server reports the abort just requested.
    }
    throw;
  }
  if (PQputCopyEnd(connection_, nullptr) != 1)
    throw std::runtime_error("COPY failed: " + error_of(connection_));
  return finish_copy(connection_);
}

}  // namespace retentiond
