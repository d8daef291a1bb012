#pragma once

#include <stdexcept>
#include <string>
#include <string_view>

namespace retentiond {

/// Process exit codes, the contract of PRODUCT.md "Exit codes". The exit status of a failed
/// command is the code of the error that ended it.
enum class ExitCode : int {
  ok = 0,
  job_failed = 1,  ///< at least one job failed
  usage = 2,       ///< usage, configuration or validation error
  database = 3,    ///< database unreachable, or retention schema missing or outdated
};

/// A user or environment error: bad input, unreachable database, missing schema. It carries a
/// one-line message that names the offending value, and the exit code it ends the process with.
/// Programmer errors are asserts, never an Error.
class Error : public std::runtime_error {
 public:
  Error(ExitCode code, const std::string& message) : std::runtime_error(message), code_(code) {}
  [[nodiscard]] ExitCode code() const noexcept { return code_; }

 private:
  ExitCode code_;
};

/// The offending input as an error message shows it: in double quotes, with `"` and `\`
/// escaped, control characters and bytes that are not UTF-8 as `\xNN` (escape_control), and
/// well-formed multibyte characters kept whole, so a message stays one readable line whatever
/// the input holds.
[[nodiscard]] std::string quote_input(std::string_view text);

/// Bad input of any kind (CLI, config, policy rows, durations, schedules, identifiers): exit 2.
[[nodiscard]] inline Error usage_error(const std::string& message) { return Error(ExitCode::usage, message); }

/// Database unreachable, or retention schema missing or outdated: exit 3.
[[nodiscard]] inline Error database_error(const std::string& message) {
  return Error(ExitCode::database, message);
}

}  // namespace retentiond
