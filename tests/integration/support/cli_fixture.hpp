#pragma once

#include <map>
#include <memory>
#include <regex>
#include <string>
#include <vector>

#include "support/pg_server.hpp"
#include "support/run.hpp"

namespace retentiond::testing {

/// HOST:PORT of a daemon's HTTP listener as its text log's `http.listening address=...` line
/// gives it (CliFixture::daemon lets the system pick the port); empty when the log has none.
[[nodiscard]] inline std::string listening_address(const std::string& log) {
  static const std::regex listening(R"(http\.listening address=([0-9.]+:[0-9]+))");
  std::smatch match;
  return std::regex_search(log, match, listening) ? match[1].str() : std::string();
}

/// A throwaway server plus a shortcut that runs the real binary against it.
struct CliFixture {
  PgServer pg;

  /// `retentiond --database-url <this server> args...`
  RunResult rd(std::vector<std::string> args, const std::map<std::string, std::string>& env = {}) const {
    args.insert(args.begin(), {"--database-url", pg.url()});
    return run_retentiond(args, env);
  }

  /// The daemon (`retentiond run`) against this server, text logs, its HTTP listener on a free
  /// port (tests run in parallel); `args` go before `run`, `env` may override the listener.
  [[nodiscard]] std::unique_ptr<ChildProcess> daemon(const std::vector<std::string>& args = {},
                                                     std::map<std::string, std::string> env = {}) const {
    std::vector<std::string> argv{"--database-url", pg.url(), "--log-format", "text"};
    argv.insert(argv.end(), args.begin(), args.end());
    argv.push_back("run");
    env.emplace("RETENTIOND_HTTP_LISTEN", "127.0.0.1:0");
    return spawn_retentiond(argv, env);
  }

  /// 20,000 expired rows in public.events whose batched delete is slow on purpose: a statement
  /// trigger sleeps 0.2 s per DELETE, so 100-row batches take about 40 s in all.
  void add_slow_events() const {
    pg.execute(R"sql(
      INSERT INTO public.events (created_at, body) SELECT '2023-01-01'::timestamptz + g * interval '1 minute', 'x'
        FROM generate_series(1, 20000) g;
      CREATE FUNCTION public.slow() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN PERFORM pg_sleep(0.2); RETURN NULL; END $$;
      CREATE TRIGGER slow AFTER DELETE ON public.events FOR EACH STATEMENT EXECUTE FUNCTION public.slow();
    )sql");
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
