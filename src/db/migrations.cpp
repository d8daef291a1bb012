#include "retentiond/db/migrations.hpp"

#include "retentiond/sql/identifier.hpp"

namespace retentiond {
namespace {

// Migrations are append-only: a released migration is never edited, a change is a new one.
constexpr std::string_view initial_schema = R"sql(
CREATE TABLE @schema@.policies (
  id               text PRIMARY KEY,
  table_schema     text NOT NULL,
  table_name       text NOT NULL,
  strategy         text NOT NULL,
  ttl              text NOT NULL,
  partition_column text,
  target           text,
  tags             text[] NOT NULL DEFAULT '{}',
  schedule         text,
  enabled          boolean NOT NULL DEFAULT true,
  options          jsonb NOT NULL DEFAULT '{}',
  created_at       timestamptz NOT NULL DEFAULT now(),
  updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX policies_tags_idx ON @schema@.policies USING gin (tags);

CREATE TABLE @schema@.jobs_log (
  id            bigserial PRIMARY KEY,
  run_id        text NOT NULL,
  policy_id     text NOT NULL,
  strategy      text NOT NULL,
  table_name    text NOT NULL,
  "partition"   text,
  action        text NOT NULL,
  sql           text,
  status        text NOT NULL
                CHECK (status IN ('running', 'succeeded', 'failed', 'skipped', 'abandoned')),
  rows_affected bigint,
  bytes         bigint,
  started_at    timestamptz NOT NULL DEFAULT now(),
  finished_at   timestamptz,
  error         text,
  instance      text NOT NULL
);
-- `jobs` filters by time, policy and status and reads the newest rows first.
CREATE INDEX jobs_log_started_at_idx ON @schema@.jobs_log (started_at DESC);
CREATE INDEX jobs_log_policy_idx ON @schema@.jobs_log (policy_id, started_at DESC);
CREATE INDEX jobs_log_status_idx ON @schema@.jobs_log (status, started_at DESC);

CREATE TABLE @schema@.policy_events (
  id        bigserial PRIMARY KEY,
  at        timestamptz NOT NULL DEFAULT now(),
  action    text NOT NULL CHECK (action IN ('create', 'edit', 'remove', 'enable', 'disable')),
  policy_id text NOT NULL,
  actor     text NOT NULL,
  before    jsonb,
  after     jsonb
);
CREATE INDEX policy_events_at_idx ON @schema@.policy_events (at);
CREATE INDEX policy_events_policy_idx ON @schema@.policy_events (policy_id, at);
)sql";

constexpr Migration all_migrations[] = {
    {1, "initial schema: policies, jobs_log, policy_events", initial_schema},
};

}  // namespace

std::span<const Migration> migrations() { return all_migrations; }

int latest_schema_version() { return all_migrations[std::size(all_migrations) - 1].version; }

std::string render_migration(const Migration& migration, std::string_view schema) {
  constexpr std::string_view placeholder = "@schema@";
  const std::string quoted = quote_identifier(schema);
  std::string sql(migration.sql);
  for (auto at = sql.find(placeholder); at != std::string::npos; at = sql.find(placeholder, at + quoted.size())) {
    sql.replace(at, placeholder.size(), quoted);
  }
  return sql;
}

}  // namespace retentiond
