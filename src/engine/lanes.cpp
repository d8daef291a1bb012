#include "retentiond/engine/lanes.hpp"

#include <cstdint>
#include <map>
#include <numeric>
#include <optional>
#include <variant>

namespace retentiond {

std::vector<std::vector<std::size_t>> work_lanes(const std::vector<std::size_t>& table_of,
                                                 const std::vector<TableFacts>& tables,
                                                 std::size_t sessions) {
  std::vector<std::vector<std::size_t>> lanes;
  if (sessions <= 1) {
    if (table_of.empty()) return lanes;
    std::vector<std::size_t> all(table_of.size());
    std::iota(all.begin(), all.end(), std::size_t{0});
    lanes.push_back(std::move(all));
    return lanes;
  }
  // What a lane is for: a partition tree, else the table by name (one table may appear twice
  // in `tables`, once per time column its policies name).
  using Key = std::variant<std::int64_t, QualifiedName>;
  std::map<Key, std::size_t> lane_of;
  for (std::size_t i = 0; i < table_of.size(); ++i) {
    const TableFacts& table = tables.at(table_of[i]);
    const Key key = table.tree_root ? Key(*table.tree_root) : Key(table.table);
    const auto [found, added] = lane_of.try_emplace(key, lanes.size());
    if (added) lanes.emplace_back();
    lanes[found->second].push_back(i);
  }
  return lanes;
}

}  // namespace retentiond
