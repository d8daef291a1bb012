#pragma once

#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options.hpp>

namespace retentiond {

/// Parses a command's own words with its options and positional names, turning every
/// Boost.Program_options complaint into a one-line usage Error. Prefix guessing is off so a
/// typo never silently means another option.
boost::program_options::variables_map parse_command_line(const std::vector<std::string>& args,
                                                         const boost::program_options::options_description& options,
                                                         const boost::program_options::positional_options_description& positional);

/// `Usage: retentiond <usage>` followed by the options, for `--help`.
std::string command_help(std::string_view usage, std::string_view description,
                         const boost::program_options::options_description& options);

}  // namespace retentiond
