#pragma once

#include <string>
#include <vector>

namespace retentiond {

/// The command line as the program parses it: a copy of argv, taken before scrub_arguments()
/// changes the original.
[[nodiscard]] std::vector<std::string> copy_arguments(int argc, const char* const* argv);

/// Overwrites in place, with `x`s of the same length, the password of every `--database-url`
/// value in argv (`--database-url URL` and `--database-url=URL`; the parts redact_url() hides),
/// so that `ps` and /proc/PID/cmdline no longer show it. The bytes are changed where the kernel
/// reads the command line from, so the strings keep their length; parse a copy_arguments() copy.
void scrub_arguments(int argc, char** argv);

}  // namespace retentiond
