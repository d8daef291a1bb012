#include <iostream>

#include <nlohmann/json.hpp>

#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"

namespace retentiond {

ExitCode run_config_command(Context& context) {
  boost::program_options::options_description options("Options");
  std::string action;
  boost::program_options::options_description hidden;
  hidden.add_options()("action", boost::program_options::value(&action));
  if (!context.help && context.args.empty()) throw usage_error("missing action: use `retentiond config print`");
  if (context.help) {
    std::cout << command_help("config print",
                              "Prints every configuration key with its effective value and where it came from\n"
                              "(default, file, environment variable or command line). Secrets are redacted.",
                              options);
    return ExitCode::ok;
  }
  boost::program_options::positional_options_description positional;
  positional.add("action", 1);
  (void)parse_command_line(context.args, hidden, positional);
  if (action != "print") throw usage_error("unknown config action \"" + action + "\"; expected print");

  const auto entries = describe_config(context.sources);
  switch (context.output) {
    case OutputFormat::json: {
      nlohmann::ordered_json document = nlohmann::ordered_json::object();
      for (const auto& entry : entries) document[entry.key] = {{"value", entry.value}, {"source", entry.source}};
      std::cout << document.dump(2) << "\n";
      break;
    }
    case OutputFormat::compact:
      for (const auto& entry : entries) std::cout << entry.key << "=" << entry.value << "\n";
      break;
    case OutputFormat::table: {
      std::vector<std::vector<std::string>> rows;
      for (const auto& entry : entries) rows.push_back({entry.key, entry.value.empty() ? "\"\"" : entry.value, entry.source});
      std::cout << render_table({"key", "value", "source"}, rows);
      break;
    }
  }
  return ExitCode::ok;
}

}  // namespace retentiond
