#pragma once

#include "retentiond/core/error.hpp"

namespace retentiond {

/// Parses the global options, loads the configuration, sets up logging and runs the command.
/// User and environment errors are thrown as Error; main() turns them into one line and an
/// exit code.
ExitCode run_app(int argc, const char* const* argv);

}  // namespace retentiond
