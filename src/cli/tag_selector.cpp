#include "retentiond/cli/tag_selector.hpp"

#include "retentiond/core/error.hpp"

namespace retentiond {

std::string no_tag_match_message(std::string_view which, const std::vector<std::string>& tags,
                                 std::string_view consequence) {
  std::string list;
  for (const auto& tag : tags) list += (list.empty() ? "" : ",") + tag;
  return "retentiond: no " + std::string(which) + " carries the tags " + quote_input(list) +
         std::string(consequence);
}

}  // namespace retentiond
