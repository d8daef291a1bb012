#pragma once

#include "retentiond/cli/context.hpp"
#include "retentiond/core/error.hpp"
#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// The end of `policy add` and `ttl`: validates what needs no database first (so bad input is
/// reported even when the database is down), then writes through PolicyStore and reports.
ExitCode add_policy(Context& context, const Policy& policy);

}  // namespace retentiond
