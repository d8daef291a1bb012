#include "retentiond/cli/command_line.hpp"

#include <sstream>

#include "retentiond/core/error.hpp"

namespace po = boost::program_options;

namespace retentiond {

po::variables_map parse_command_line(const std::vector<std::string>& args, const po::options_description& options,
                                     const po::positional_options_description& positional) {
  po::variables_map vm;
  try {
    po::store(po::command_line_parser(args)
                  .options(options)
                  .positional(positional)
                  .style(po::command_line_style::default_style & ~po::command_line_style::allow_guessing)
                  .run(),
              vm);
    po::notify(vm);
  } catch (const po::too_many_positional_options_error&) {
    std::string extra;
    for (const auto& arg : args) extra += (extra.empty() ? "" : " ") + arg;
    throw usage_error("too many arguments: \"" + extra + "\"");
  } catch (const po::error& e) {
    throw usage_error(e.what());
  }
  return vm;
}

std::string command_help(std::string_view usage, std::string_view description, const po::options_description& options) {
  std::ostringstream text;
  text << "Usage: retentiond " << usage << "\n\n" << description << "\n";
  if (!options.options().empty()) text << "\n" << options;
  return text.str();
}

}  // namespace retentiond
