#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace retentiond {

/// The stderr line of a command whose --tags matched nothing, so that a typo in --tags is not
/// mistaken for success: `retentiond: no <which> carries the tags "a,b"<consequence>`, the
/// tags joined by commas and quoted like every input. `which` is what was looked for
/// ("policy", "enabled policy"); `consequence` what that means ("; nothing changed").
[[nodiscard]] std::string no_tag_match_message(std::string_view which, const std::vector<std::string>& tags,
                                               std::string_view consequence);

}  // namespace retentiond
