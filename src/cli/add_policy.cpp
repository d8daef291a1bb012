#include "retentiond/cli/add_policy.hpp"

#include <iostream>

#include "retentiond/cli/policy_output.hpp"
#include "retentiond/db/policy_store.hpp"

namespace retentiond {

ExitCode add_policy(Context& context, const Policy& policy) {
  Policy check = policy;
  if (check.id.empty()) check.id = default_policy_id(policy.table, policy.strategy);
  validate_policy(check);

  auto connection = context.open_database();
  PolicyStore store(*connection, context.config);
  const Policy stored = store.add(policy);
  if (context.output != OutputFormat::table) {
    print_policy(std::cout, stored, context.output);
  } else if (!context.quiet) {
    std::cout << "created policy " << stored.id << "\n";
  }
  return ExitCode::ok;
}

}  // namespace retentiond
