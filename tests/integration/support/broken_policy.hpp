#pragma once

#include <string>

#include <doctest/doctest.h>

#include "support/cli_fixture.hpp"

namespace retentiond::testing {

/// A row written by hand that retentiond cannot load as a valid policy, and the edit that
/// repairs it.
struct BrokenRow {
  const char* kind;        ///< what is wrong, for the test's output
  const char* assignment;  ///< SET clause that breaks the row
};

/// One of each kind of broken field: a ttl that does not parse, is zero or negative, an unknown
/// strategy, options that are not an object, a schedule that does not parse, a tag that is not
/// a label.
inline constexpr BrokenRow kBrokenRows[] = {
    {"ttl banana", "ttl = 'banana'"},
    {"ttl 0d", "ttl = '0d'"},
    {"ttl -30d", "ttl = '-30d'"},
    {"unknown strategy", "strategy = 'shred'"},
    {"options not an object", "options = '[1, 2]'::jsonb"},
    {"schedule that does not parse", "schedule = 'whenever'"},
    {"tag that is not a label", "tags = ARRAY['bad tag']"},
};

/// The sample tables, policy `bad` on public.metrics (then broken with `assignment`) and a
/// valid policy `good` on public.events, both tagged `t`.
inline void add_good_and_broken(CliFixture& f, const std::string& assignment) {
  f.setup_with_sample_tables();
  REQUIRE(f.rd({"ttl", "public.metrics", "delete", "90d", "--id", "bad", "--tags", "t"}).exit_code == 0);
  REQUIRE(f.rd({"ttl", "public.events:created_at", "delete", "30d", "--id", "good", "--tags", "t"}).exit_code == 0);
  f.pg.execute("UPDATE retention.policies SET " + assignment + " WHERE id = 'bad'");
}

}  // namespace retentiond::testing
