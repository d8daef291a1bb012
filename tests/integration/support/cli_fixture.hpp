#pragma once

#include <map>
#include <string>
#include <vector>

#include "support/pg_server.hpp"
#include "support/run.hpp"

namespace retentiond::testing {

/// A throwaway server plus a shortcut that runs the real binary against it.
struct CliFixture {
  PgServer pg;

  /// `retentiond --database-url <this server> args...`
  RunResult rd(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    args.insert(args.begin(), {"--database-url", pg.url()});
    return run_retentiond(args, env);
  }

  /// The server after `retentiond setup`, with the tables most tests need: a range-partitioned
  /// `public.metrics` (ts timestamptz) and a plain `public.events` (created_at timestamptz).
  void setup_with_sample_tables() {
    pg.execute(R"sql(
      CREATE TABLE public.metrics (ts timestamptz NOT NULL, value double precision) PARTITION BY RANGE (ts);
      CREATE TABLE public.metrics_p20240101 PARTITION OF public.metrics
        FOR VALUES FROM ('2024-01-01') TO ('2024-01-02');
      CREATE TABLE public.events (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, body text);
    )sql");
    auto setup = rd({"setup"});
    if (setup.exit_code != 0) throw std::runtime_error("setup failed: " + setup.err);
  }
};

}  // namespace retentiond::testing
