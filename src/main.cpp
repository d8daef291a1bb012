#include <cstdio>
#include <exception>

#include <pqxx/except>

#include "retentiond/cli/app.hpp"
#include "retentiond/db/connection.hpp"

// main only launches and maps failures to the exit codes of PRODUCT.md: a user or environment
// error is one line on stderr, never a stack trace.
int main(int argc, char** argv) {
  using retentiond::ExitCode;
  try {
    return static_cast<int>(retentiond::run_app(argc, argv));
  } catch (const retentiond::Error& e) {
    std::fprintf(stderr, "retentiond: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const pqxx::broken_connection& e) {
    std::fprintf(stderr, "retentiond: lost the database connection: %s\n", retentiond::first_line(e.what()).c_str());
    return static_cast<int>(ExitCode::database);
  } catch (const pqxx::sql_error& e) {
    std::fprintf(stderr, "retentiond: database error: %s\n", retentiond::first_line(e.what()).c_str());
    return static_cast<int>(ExitCode::database);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "retentiond: internal error: %s\n", retentiond::first_line(e.what()).c_str());
    return static_cast<int>(ExitCode::job_failed);
  }
}
