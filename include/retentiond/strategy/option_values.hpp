#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "retentiond/policy/policy.hpp"

namespace retentiond {

// Typed reads of policy options. Values were validated when the policy was written; a row
// edited by hand into nonsense is a usage Error naming the policy and option.
[[nodiscard]] std::int64_t option_integer(const Policy& policy, std::string_view key, std::int64_t fallback);
[[nodiscard]] bool option_bool(const Policy& policy, std::string_view key);
[[nodiscard]] std::chrono::milliseconds option_duration(const Policy& policy, std::string_view key,
                                                        std::chrono::milliseconds fallback);

}  // namespace retentiond
