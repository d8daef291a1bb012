#pragma once

#include <ostream>
#include <vector>

#include "retentiond/cli/output.hpp"
#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// `policy list`: a table, a JSON array of policy documents, or one `key=value` line each.
void print_policies(std::ostream& out, const std::vector<Policy>& policies, OutputFormat format);

/// `policy show` and the result of add/edit: one field per line, one JSON document, or one line.
void print_policy(std::ostream& out, const Policy& policy, OutputFormat format);

}  // namespace retentiond
