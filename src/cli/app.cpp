#include "retentiond/cli/app.hpp"

#include <iostream>
#include <sstream>

#include <boost/program_options.hpp>
#include <spdlog/spdlog.h>

#include "retentiond/cli/commands.hpp"
#include "retentiond/core/logging.hpp"
#include "retentiond/db/schema.hpp"
#include "retentiond/db/connection.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

struct GlobalOptions {
  std::string config_file;
  std::string database_url;
  std::string schema;
  std::string output = "table";
  std::string log_level;
  std::string log_format;
  bool quiet = false;
  bool help = false;
  bool version = false;
};

po::options_description global_options(GlobalOptions& g) {
  po::options_description options("Global options");
  options.add_options()
      ("config,c", po::value(&g.config_file)->value_name("FILE"), "configuration file (default /etc/retentiond/retentiond.yaml when it exists)")
      ("database-url", po::value(&g.database_url)->value_name("URL"), "libpq URI or key=value conninfo (database.url)")
      ("schema", po::value(&g.schema)->value_name("NAME"), "retention schema (database.schema)")
      ("output,o", po::value(&g.output)->value_name("FORMAT"), "table | json | compact")
      ("log-level", po::value(&g.log_level)->value_name("LEVEL"), "trace | debug | info | warn | error")
      ("log-format", po::value(&g.log_format)->value_name("FORMAT"), "auto | text | json")
      ("quiet,q", po::bool_switch(&g.quiet), "print only errors")
      ("help,h", po::bool_switch(&g.help), "show help (also after a command)")
      ("version", po::bool_switch(&g.version), "print the version");
  return options;
}

std::string usage_text(const po::options_description& globals) {
  std::string text = "Usage: retentiond [global options] COMMAND [options]\n\nCommands:\n";
  for (const auto& command : commands()) {
    std::string name(command.name);
    text += "  " + name + std::string(name.size() < 10 ? 10 - name.size() : 1, ' ') + std::string(command.summary) + "\n";
  }
  std::ostringstream options;
  options << globals;
  return text + "\n" + options.str() + "\nRun `retentiond COMMAND --help` for a command's options.\n";
}

const Command* find_command(std::string_view name) {
  for (const auto& command : commands()) {
    if (command.name == name) return &command;
  }
  return nullptr;
}

}  // namespace

ExitCode run_app(int argc, const char* const* argv) {
  GlobalOptions g;
  auto globals = global_options(g);
  // `--` ends the options for the command too (`policy rm -- -odd-id`): the global parser would
  // swallow it, so everything from it on goes to the command untouched.
  int options_end = argc;
  for (int i = 1; i < argc; ++i) {
    if (std::string_view(argv[i]) == "--") {
      options_end = i;
      break;
    }
  }
  std::vector<std::string> rest;
  po::variables_map vm;
  try {
    // Global options may stand anywhere on the line; whatever they do not claim (the command
    // and its own options) is handed to the command, in order.
    auto parsed = po::command_line_parser(options_end, argv)
                      .options(globals)
                      .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                      .allow_unregistered()
                      .run();
    po::store(parsed, vm);
    po::notify(vm);
    rest = po::collect_unrecognized(parsed.options, po::include_positional);
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  rest.insert(rest.end(), argv + options_end, argv + argc);
  // Given but empty is a mistake (an unset variable in a script), never "use the default":
  // `--database-url ""` would otherwise connect wherever the environment points.
  for (const char* name : {"config", "database-url", "schema", "output", "log-level", "log-format"}) {
    if (vm.count(name) != 0 && vm[name].as<std::string>().empty()) {
      throw usage_error("empty --" + std::string(name) + " \"\": give a value or leave the option out");
    }
  }
  if (g.version) {
    std::cout << "retentiond " << RETENTIOND_VERSION << "\n";
    return ExitCode::ok;
  }
  if (rest.empty()) {
    if (g.help) {
      std::cout << usage_text(globals);
      return ExitCode::ok;
    }
    throw usage_error("no command given; run `retentiond --help` for the list");
  }
  const std::string name = rest.front();
  const Command* command = find_command(name);
  if (command == nullptr) {
    if (name.starts_with("-")) throw usage_error("unknown option \"" + name + "\"");
    throw usage_error("unknown command \"" + name + "\"; run `retentiond --help` for the list");
  }

  Context context;
  context.output = parse_output_format(g.output);
  context.quiet = g.quiet;
  context.help = g.help;
  context.args.assign(rest.begin() + 1, rest.end());
  if (!g.config_file.empty()) context.sources.file = g.config_file;
  context.sources.environment = process_environment();
  if (!g.database_url.empty()) context.sources.overrides.emplace_back("database.url", g.database_url);
  if (!g.schema.empty()) context.sources.overrides.emplace_back("database.schema", g.schema);
  if (!g.log_level.empty()) context.sources.overrides.emplace_back("log.level", g.log_level);
  if (!g.log_format.empty()) context.sources.overrides.emplace_back("log.format", g.log_format);
  if (!context.help) {
    context.config = load_config(context.sources);
    init_logging(context.config.log.level, context.config.log.format, context.quiet);
  }
  return command->run(context);
}

std::unique_ptr<pqxx::connection> Context::open_database(bool require_schema) const {
  auto connection = connect(config.database);
  if (require_schema) require_current_schema(*connection, config.database.schema);
  return connection;
}

std::span<const Command> commands() {
  static constexpr Command all[] = {
      {"setup", "create or upgrade the retention schema", run_setup_command},
      {"policy", "add, list, show, edit, rm, enable, disable retention policies", run_policy_command},
      {"ttl", "shortcut for `policy add`: ttl TABLE[:COLUMN] STRATEGY[:TARGET] DURATION", run_ttl_command},
      {"run", "the daemon; run --once [--dry-run]: plan and apply every selected policy now", run_run_command},
      {"status", "who leads; per policy: last run, next run, pending actions", run_status_command},
      {"jobs", "the jobs_log: what ran, when, and how it ended", run_jobs_command},
      {"check", "what retention needs: connection, schema, privileges, tablespaces, repositories", run_check_command},
      {"config", "config print: the effective configuration, secrets redacted", run_config_command},
      {"restore", "restore MANIFEST [--into TABLE]: bring an archived partition back",
       run_restore_command},
  };
  return all;
}

}  // namespace retentiond
