#include <iostream>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/db/migrations.hpp"
#include "retentiond/db/schema.hpp"

#include <nlohmann/json.hpp>

namespace retentiond {

ExitCode run_setup_command(Context& context) {
  boost::program_options::options_description options("Options");
  if (context.help) {
    std::cout << command_help("setup",
                              "Creates the retention schema, or upgrades it to this binary's version ("
                              + std::to_string(latest_schema_version()) +
                                  "). Safe to run again: a current schema is left as it is.",
                              options);
    return ExitCode::ok;
  }
  (void)parse_command_line(context.args, options, {});
  auto connection = context.open_database(/*require_schema=*/false);
  const auto& schema = context.config.database.schema;
  const SetupReport report = setup_schema(*connection, schema);

  switch (context.output) {
    case OutputFormat::json:
      std::cout << nlohmann::ordered_json{{"schema", schema},
                                          {"version_before", report.version_before},
                                          {"version", report.version_after},
                                          {"applied", report.applied}}
                       .dump()
                << "\n";
      break;
    case OutputFormat::compact:
      std::cout << "schema=" << schema << " version_before=" << report.version_before
                << " version=" << report.version_after << " applied=" << report.applied.size() << "\n";
      break;
    case OutputFormat::table:
      for (const auto& step : report.applied) std::cout << "applied migration " << step << "\n";
      if (report.applied.empty()) {
        std::cout << "retention schema \"" << schema << "\" is up to date (version " << report.version_after
                  << "); nothing to do\n";
      } else {
        std::cout << "retention schema \"" << schema << "\" is at version " << report.version_after << "\n";
      }
      break;
  }
  return ExitCode::ok;
}

}  // namespace retentiond
