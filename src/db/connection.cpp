#include "retentiond/db/connection.hpp"

#include <cstdlib>
#include <mutex>

#include <pqxx/except>
#include <pqxx/nontransaction>

#include "retentiond/core/error.hpp"
#include "retentiond/db/conninfo.hpp"

namespace retentiond {
namespace {

std::string milliseconds(const Duration& duration) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(duration.seconds()).count());
}

}  // namespace

// The secret is found as the part where the redacted URL differs from the original, so this
// stays right for every URL form redact_url() understands.
std::string scrub_secret(std::string message, const std::string& url) {
  std::string redacted = redact_url(url);
  if (redacted == url) return message;
  std::size_t prefix = 0;
  while (prefix < url.size() && prefix < redacted.size() && url[prefix] == redacted[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < url.size() - prefix && suffix < redacted.size() - prefix &&
         url[url.size() - 1 - suffix] == redacted[redacted.size() - 1 - suffix]) {
    ++suffix;
  }
  std::string secret = url.substr(prefix, url.size() - prefix - suffix);
  if (secret.empty()) return message;
  for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret, at + 3)) {
    message.replace(at, secret.size(), "***");
  }
  return message;
}

std::string first_line(const std::string& message) {
  std::string line = message.substr(0, message.find('\n'));
  for (std::string_view prefix : {"ERROR:  ", "FATAL:  "}) {
    if (line.rfind(prefix, 0) == 0) line.erase(0, prefix.size());
  }
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

void prepare_libpq_environment(const Config::Database& database) {
  // libpq gives settings in the conninfo precedence over these variables, so a URL that names
  // its own connect_timeout or application_name keeps it. Neither value is a secret.
  // Set once: setenv while another thread's libpq reads the environment would be a data race,
  // so the daemon calls this before it starts any thread. A new connect_timeout therefore
  // takes a restart, like every database.* setting.
  static std::once_flag environment;
  std::call_once(environment, [&] {
    auto timeout = std::max<long long>(2, database.connect_timeout.seconds().count());
    ::setenv("PGCONNECT_TIMEOUT", std::to_string(timeout).c_str(), 1);
    ::setenv("PGAPPNAME", "retentiond", 0);
  });
}

bool in_recovery(pqxx::connection& connection) {
  pqxx::nontransaction tx(connection);
  return tx.exec("SELECT pg_catalog.pg_is_in_recovery()")[0][0].as<bool>();
}

std::unique_ptr<pqxx::connection> connect(const Config::Database& database) {
  prepare_libpq_environment(database);

  const ConnectionString target = connection_string(database);
  std::unique_ptr<pqxx::connection> connection;
  try {
    connection = std::make_unique<pqxx::connection>(target.conninfo);
  } catch (const std::exception& e) {
    std::string where = database.url.empty() ? "(libpq defaults)" : redact_url(database.url);
    throw database_error("cannot connect to database " + where + ": " +
                         first_line(scrub_password(scrub_secret(e.what(), database.url), target.password)));
  }
  // libpqxx 6 silently reconnects a broken connection on its next use. A new session would
  // lack what this one set up (a dry run's READ ONLY, a run's advisory lock, its
  // application_name): a lost connection must surface as an error instead.
  // Deprecated because libpqxx 7 drops reactivation altogether; in 6.4 it is still on by
  // default, and this is the only way to turn it off.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  connection->inhibit_reactivation(true);
#pragma GCC diagnostic pop
  try {
    pqxx::nontransaction session(*connection);
    session.exec("SET statement_timeout = " + milliseconds(database.statement_timeout));
  } catch (const pqxx::broken_connection& e) {
    throw database_error("lost the database connection: " + first_line(e.what()));
  }
  return connection;
}

}  // namespace retentiond
