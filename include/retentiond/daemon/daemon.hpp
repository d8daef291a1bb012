#pragma once

#include "retentiond/config/config.hpp"
#include "retentiond/core/error.hpp"

namespace retentiond {

/// `retentiond run`: the long-running service. Keeps the schedule of every enabled policy and
/// runs each due policy exactly as `run --once --policy ID` would, at most
/// scheduler.max_concurrent_jobs at a time and never two on one table; re-reads policies on
/// NOTIFY (and every poll_interval); with ha.enabled only the holder of the leader lease runs
/// anything. SIGTERM/SIGINT: no new work, the running actions get shutdown_timeout, then their
/// statements are cancelled and recorded abandoned; exit 0. SIGHUP: re-read the config file and
/// apply what can change live. A lost database is waited for, never fatal.
/// `sources` is kept to re-read the configuration on SIGHUP.
[[nodiscard]] ExitCode run_daemon(const ConfigSources& sources, const Config& config, bool quiet);

}  // namespace retentiond
