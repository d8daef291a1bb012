#include <cstdio>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include <pqxx/except>

#include "retentiond/cli/app.hpp"
#include "retentiond/cli/argv_scrub.hpp"
#include "retentiond/db/connection.hpp"
#include "retentiond/db/sql_errors.hpp"

// main only launches and maps failures to the exit codes of PRODUCT.md: a user or environment
// error is one line on stderr, never a stack trace.
int main(int argc, char** argv) {
  using retentiond::ExitCode;
  try {
    // Parsed from a copy: the original is where `ps` reads the command line, and loses the
    // password of --database-url before anything slow (connecting) happens.
    const std::vector<std::string> arguments = retentiond::copy_arguments(argc, argv);
    retentiond::scrub_arguments(argc, argv);
    std::vector<const char*> view;
    for (const auto& argument : arguments) view.push_back(argument.c_str());
    return static_cast<int>(retentiond::run_app(argc, view.data()));
  } catch (const retentiond::Error& e) {
    std::fprintf(stderr, "retentiond: %s\n", e.what());
    return static_cast<int>(e.code());
  } catch (const pqxx::broken_connection& e) {
    std::fprintf(stderr, "retentiond: lost the database connection: %s\n", retentiond::first_line(e.what()).c_str());
    return static_cast<int>(ExitCode::database);
  } catch (const pqxx::sql_error& e) {
    const retentiond::Error error = retentiond::error_from_sql(e);
    std::fprintf(stderr, "retentiond: %s\n", error.what());
    return static_cast<int>(error.code());
  } catch (const std::bad_alloc&) {
    // Inputs are bounded (config files, manifests), so this means the machine itself is out of
    // memory; what() would only say "std::bad_alloc".
    std::fputs("retentiond: out of memory\n", stderr);
    return static_cast<int>(ExitCode::job_failed);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "retentiond: internal error: %s\n", retentiond::first_line(e.what()).c_str());
    return static_cast<int>(ExitCode::job_failed);
  }
}
