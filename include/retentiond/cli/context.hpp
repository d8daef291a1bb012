#pragma once

#include <memory>
#include <string>
#include <vector>

#include <pqxx/connection>

#include "retentiond/cli/output.hpp"
#include "retentiond/config/config.hpp"

namespace retentiond {

/// What every command gets: the effective configuration, the output format, and the words of
/// the command line that belong to it (after the command name).
struct Context {
  ConfigSources sources;
  Config config;
  OutputFormat output = OutputFormat::table;
  bool quiet = false;
  bool help = false;  ///< `--help` anywhere on the line: the command prints its usage
  std::vector<std::string> args;

  /// Connects and, unless `require_schema` is false (only `setup`), checks that the retention
  /// schema exists at this binary's version.
  [[nodiscard]] std::unique_ptr<pqxx::connection> open_database(bool require_schema = true) const;
};

}  // namespace retentiond
