#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>
#include <pqxx/pqxx>

#include "retentiond/dialect/postgresql.hpp"
#include "retentiond/engine/bounds.hpp"

namespace retentiond {
namespace {

// A partition bound holds only constants, never a column reference, so pg_get_expr needs no
// relation to deparse it (relation 0): the text is the same and the per-partition deparse
// context, the bulk of this query's cost on a catalog of 100,000 partitions, is not built.
//
// Both queries take their lists as one JSON parameter, so the statement text stays the same
// and the number of queries per run stays two, however many tables and partitions there are.
constexpr const char* tables_sql = R"sql(
SELECT r.ord - 1, c.oid::bigint, c.relkind::text, key.attname::text,
       pg_catalog.format_type(coalesce(col.atttypid, key.atttypid), NULL),
       pg_catalog.pg_partition_root(c.oid)::oid::bigint,
       c.relispartition, c.relpersistence::text, pt.partstrat::text, pt.partnatts::int,
       0 = ANY(pt.partattrs::int2[]),
       CASE WHEN c.relkind = 'r' THEN
         (SELECT a.attname::text FROM pg_catalog.pg_attribute a
           WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
             AND a.atttypid IN ('pg_catalog.timestamptz'::pg_catalog.regtype,
                                'pg_catalog.timestamp'::pg_catalog.regtype, 'pg_catalog.date'::pg_catalog.regtype)
           ORDER BY a.attnum LIMIT 1) END
  FROM jsonb_array_elements($1::jsonb) WITH ORDINALITY AS r(item, ord)
  LEFT JOIN pg_catalog.pg_namespace n ON n.nspname = r.item->>0
  LEFT JOIN pg_catalog.pg_class c ON c.relnamespace = n.oid AND c.relname = r.item->>1
  LEFT JOIN pg_catalog.pg_partitioned_table pt ON pt.partrelid = c.oid
  LEFT JOIN pg_catalog.pg_attribute key ON key.attrelid = pt.partrelid AND pt.partnatts = 1
                                       AND key.attnum = pt.partattrs[0]
  LEFT JOIN pg_catalog.pg_attribute col ON col.attrelid = c.oid AND col.attname = r.item->>2
                                       AND col.attnum > 0 AND NOT col.attisdropped
 ORDER BY r.ord)sql";

// pg_inherits.inhdetachpending exists from PostgreSQL 14, where DETACH ... CONCURRENTLY came in.
std::string partitions_sql(bool detach_pending_known) {
  return std::string(R"sql(
SELECT i.inhparent::bigint, n.nspname::text, c.relname::text, pg_catalog.pg_get_expr(c.relpartbound, 0),
       coalesce(ts.spcname::text, ''),
       c.relpages::bigint * current_setting('block_size')::bigint,
       greatest(c.reltuples, 0)::bigint, c.relkind::text, )sql") +
         (detach_pending_known ? "i.inhdetachpending" : "false") + R"sql(
  FROM pg_catalog.pg_inherits i
  JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  LEFT JOIN pg_catalog.pg_tablespace ts ON ts.oid = c.reltablespace
 WHERE i.inhparent = ANY(ARRAY(SELECT jsonb_array_elements_text($1::jsonb)::oid)))sql";
}

}  // namespace

std::vector<TableFacts> postgresql_table_facts(pqxx::transaction_base& tx, const std::vector<TableRequest>& tables) {
  std::vector<TableFacts> facts(tables.size());
  if (tables.empty()) return facts;
  nlohmann::json request = nlohmann::json::array();
  for (const auto& t : tables) {
    request.push_back(
        {t.table.schema, t.table.name, t.time_column ? nlohmann::json(*t.time_column) : nlohmann::json()});
  }
  for (const auto& row : tx.exec_params(tables_sql, request.dump())) {
    const auto index = row[0].as<std::size_t>();
    TableFacts& f = facts[index];
    f.table = tables[index].table;
    if (row[1].is_null()) continue;
    f.oid = row[1].as<std::int64_t>();
    f.relkind = row[2].as<std::string>();
    f.exists = f.relkind == "r" || f.relkind == "p";
    f.partitioned = f.relkind == "p";
    if (!row[3].is_null()) f.key_column = row[3].as<std::string>();
    if (!row[4].is_null()) f.key_type = row[4].as<std::string>();
    if (!row[5].is_null()) f.tree_root = row[5].as<std::int64_t>();
    f.is_partition = row[6].as<bool>();
    f.temporary = row[7].as<std::string>() == "t";
    if (!row[8].is_null()) {
      const std::string method = row[8].as<std::string>();
      f.method = method == "l" ? PartitionMethod::list : method == "h" ? PartitionMethod::hash : PartitionMethod::range;
      f.key_columns = row[9].as<int>();
      f.key_has_expression = row[10].as<bool>();
    }
    if (!row[11].is_null()) f.first_time_column = row[11].as<std::string>();
  }
  return facts;
}

std::vector<TableFacts> PostgresqlDialect::describe_tables(pqxx::connection& connection,
                                                           const std::vector<TableRequest>& tables) const {
  if (tables.empty()) return std::vector<TableFacts>(tables.size());
  pqxx::read_transaction tx(connection);
  // pg_get_expr prints bounds in the session's time zone and date style; pin both so the
  // bound parser sees one format and every instant is UTC.
  tx.exec0("SET LOCAL TimeZone = 'UTC'");
  tx.exec0("SET LOCAL DateStyle = 'ISO, YMD'");
  std::vector<TableFacts> facts = postgresql_table_facts(tx, tables);
  std::map<long long, std::size_t> partitioned;  // parent oid → index into facts
  for (std::size_t index = 0; index < facts.size(); ++index) {
    if (facts[index].partitioned) partitioned.emplace(facts[index].oid, index);
  }
  if (!partitioned.empty()) {
    std::vector<std::size_t> counts(facts.size());
    nlohmann::json oids = nlohmann::json::array();
    for (const auto& [oid, index] : partitioned) oids.push_back(std::to_string(oid));
    const pqxx::result rows =
        tx.exec_params(partitions_sql(connection.server_version() >= 140000), oids.dump());
    // Each table's vector sized once: a catalog of 100,000 partitions is copied around
    // otherwise, every time a vector grows.
    std::vector<std::size_t> owner;
    owner.reserve(rows.size());
    for (const auto& row : rows) {
      owner.push_back(partitioned.at(row[0].as<long long>()));
      ++counts[owner.back()];
    }
    for (std::size_t i = 0; i < facts.size(); ++i) facts[i].partitions.reserve(counts[i]);
    for (pqxx::result::size_type r = 0; r < rows.size(); ++r) {
      const pqxx::row row = rows[r];
      PartitionFacts& p = facts[owner[static_cast<std::size_t>(r)]].partitions.emplace_back();
      p.name = {std::string(row[1].c_str(), row[1].size()), std::string(row[2].c_str(), row[2].size())};
      const std::string_view bound_text =
          row[3].is_null() ? "" : std::string_view(row[3].c_str(), row[3].size());
      const PartitionBound bound = parse_partition_bound(bound_text);
      p.is_default = bound.is_default;
      p.lower = bound.lower;
      p.upper = bound.upper;
      // Kept only where a reason has to quote it: a bound that is not a closed time range.
      if (!bound.is_default && (!p.lower || !p.upper)) p.bound_text = bound_text;
      p.tablespace.assign(row[4].c_str(), row[4].size());
      p.size_bytes = row[5].as<std::int64_t>();
      p.estimated_rows = row[6].as<std::int64_t>();
      p.sub_partitioned = row[7].c_str()[0] == 'p';
      p.foreign = row[7].c_str()[0] == 'f';
      p.detach_pending = row[8].c_str()[0] == 't';
    }
  }
  tx.commit();
  for (auto& f : facts) {
    // Oldest first: an abort part-way leaves the newest data, never a hole in the middle.
    std::stable_sort(f.partitions.begin(), f.partitions.end(),
                     [](const PartitionFacts& a, const PartitionFacts& b) {
                       if (a.lower.has_value() != b.lower.has_value()) return !a.lower.has_value();
                       if (a.lower != b.lower) return a.lower < b.lower;
                       return a.name.name < b.name.name;
                     });
  }
  return facts;
}

DatabaseFacts PostgresqlDialect::describe_database(pqxx::connection& connection) const {
  DatabaseFacts facts;
  pqxx::read_transaction tx(connection);
  for (const auto& row : tx.exec("SELECT spcname::text FROM pg_catalog.pg_tablespace ORDER BY 1")) {
    facts.tablespaces.push_back(row[0].as<std::string>());
  }
  facts.default_tablespace = tx.exec1(
                                   "SELECT t.spcname::text FROM pg_catalog.pg_database d JOIN "
                                   "pg_catalog.pg_tablespace t ON t.oid = d.dattablespace"
                                   " WHERE d.datname = current_database()")[0]
                                 .as<std::string>();
  return facts;
}

}  // namespace retentiond
