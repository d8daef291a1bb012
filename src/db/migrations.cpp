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

// The daemon: live policy changes, leader lease, per-policy schedule state.
constexpr std::string_view daemon_schema = R"sql(
-- Every change to the policies wakes listening daemons; the payload names the schema, so
-- daemons of other schemas in the same database ignore it.
CREATE FUNCTION @schema@.notify_policy_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_catalog.pg_notify('retentiond_policies', TG_TABLE_SCHEMA);
  RETURN NULL;
END $$;
CREATE TRIGGER policies_notify AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON @schema@.policies
  FOR EACH STATEMENT EXECUTE FUNCTION @schema@.notify_policy_change();

-- Leader election among daemons on one database: the holder of the "scheduler" lease runs the
-- schedule until expires_at (the database's clock decides, never a daemon's).
CREATE TABLE @schema@.leases (
  name        text PRIMARY KEY,
  holder      text NOT NULL,
  acquired_at timestamptz NOT NULL,
  renewed_at  timestamptz NOT NULL,
  expires_at  timestamptz NOT NULL
);

-- What the schedule knows about each policy, in the database so that a new leader carries on
-- where the old one stopped and `status` works from any host.
CREATE TABLE @schema@.policy_state (
  policy_id        text PRIMARY KEY REFERENCES @schema@.policies (id) ON DELETE CASCADE,
  last_started_at  timestamptz,
  last_finished_at timestamptz,
  last_status      text,
  last_error       text,
  next_run_at      timestamptz,
  updated_by       text
);
)sql";

// Observability and retries: when each policy last succeeded, so that every replica's metrics
// and `status` can say how long retention has gone without a successful run whatever failed
// since, and how many runs in a row failed and when the next retry is due.
constexpr std::string_view observability_schema = R"sql(
ALTER TABLE @schema@.policy_state
  ADD COLUMN last_succeeded_at timestamptz,
  ADD COLUMN failures integer NOT NULL DEFAULT 0,
  ADD COLUMN next_retry_at timestamptz;
)sql";

constexpr Migration all_migrations[] = {
    {1, "initial schema: policies, jobs_log, policy_events", initial_schema},
    {2, "daemon: policy change notifications, leader lease, policy state", daemon_schema},
    {3, "observability and retries: last success, failures in a row, next retry", observability_schema},
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
