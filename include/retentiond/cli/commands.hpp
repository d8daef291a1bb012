#pragma once

#include <span>
#include <string_view>

#include "retentiond/cli/context.hpp"
#include "retentiond/core/error.hpp"

namespace retentiond {

/// A top-level command. Each lives in its own file under src/cli/ and returns its exit code.
struct Command {
  std::string_view name;
  std::string_view summary;
  ExitCode (*run)(Context& context);
};

[[nodiscard]] std::span<const Command> commands();

ExitCode run_setup_command(Context& context);
ExitCode run_policy_command(Context& context);
ExitCode run_ttl_command(Context& context);
ExitCode run_config_command(Context& context);
ExitCode run_run_command(Context& context);
ExitCode run_jobs_command(Context& context);
ExitCode run_status_command(Context& context);
ExitCode run_check_command(Context& context);
ExitCode run_restore_command(Context& context);

}  // namespace retentiond
