#pragma once

#include <cstddef>
#include <vector>

#include "retentiond/engine/catalog.hpp"
#include "retentiond/policy/policy.hpp"

namespace retentiond {

/// The policies of a run grouped into lanes: a lane is what one session works through, one
/// policy after the other, while other sessions work on other lanes. A lane holds every policy
/// of one table (whatever column its policies name), and of every table of one partition tree
/// (see TableFacts::tree_root: two sessions working in one tree would wait for each other, or
/// deadlock). With one session there is one lane, every policy in id order.
/// `table_of[i]` is policy i's index into `tables`. Each lane lists policy indices in
/// ascending order; lanes come in the order of their first policy.
[[nodiscard]] std::vector<std::vector<std::size_t>> work_lanes(const std::vector<std::size_t>& table_of,
                                                               const std::vector<TableFacts>& tables,
                                                               std::size_t sessions);

/// The lanes with each table's policies in archive-first order, whatever their ids: snapshot,
/// then reallocate, then delete (id order among equals), so a partition that a snapshot policy
/// archives is archived before a delete of the same table could drop it, and a move to a
/// tablespace happens before the drop. Each table's policies take the lane positions they had;
/// the policies of other tables keep theirs. `policies[i]` is policy i.
[[nodiscard]] std::vector<std::vector<std::size_t>> archive_first(std::vector<std::vector<std::size_t>> lanes,
                                                                  const std::vector<Policy>& policies,
                                                                  const std::vector<std::size_t>& table_of,
                                                                  const std::vector<TableFacts>& tables);

}  // namespace retentiond
