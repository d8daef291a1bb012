#include "retentiond/engine/lanes.hpp"

#include <cstdint>
#include <algorithm>
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

namespace {

int archive_rank(const std::string& strategy) {
  if (strategy == "snapshot") return 0;
  if (strategy == "reallocate") return 1;
  if (strategy == "delete") return 2;
  return 3;
}

}  // namespace

std::vector<std::vector<std::size_t>> archive_first(std::vector<std::vector<std::size_t>> lanes,
                                                    const std::vector<Policy>& policies,
                                                    const std::vector<std::size_t>& table_of,
                                                    const std::vector<TableFacts>& tables) {
  for (auto& lane : lanes) {
    // Per table (by name: one table may appear once per time column): its lane positions and
    // its policies, which go back into those positions sorted.
    std::map<QualifiedName, std::pair<std::vector<std::size_t>, std::vector<std::size_t>>> by_table;
    for (std::size_t position = 0; position < lane.size(); ++position) {
      auto& [positions, members] = by_table[tables.at(table_of.at(lane[position])).table];
      positions.push_back(position);
      members.push_back(lane[position]);
    }
    for (auto& [name, entry] : by_table) {
      auto& [positions, members] = entry;
      std::stable_sort(members.begin(), members.end(), [&](std::size_t a, std::size_t b) {
        return archive_rank(policies.at(a).strategy) < archive_rank(policies.at(b).strategy);
      });
      for (std::size_t k = 0; k < positions.size(); ++k) lane[positions[k]] = members[k];
    }
  }
  return lanes;
}

}  // namespace retentiond
