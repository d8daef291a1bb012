#include <algorithm>
#include <iostream>
#include <optional>

#include <nlohmann/json.hpp>

#include "retentiond/archive/archive_reader.hpp"
#include "retentiond/archive/manifest.hpp"
#include "retentiond/archive/manifest_sql.hpp"
#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/db/libpq_session.hpp"
#include "retentiond/sql/identifier.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace retentiond {
namespace {

struct RestoreResult {
  QualifiedName table;
  bool created = false;
  std::optional<QualifiedName> attached_to;  ///< the parent, when re-created as its partition
  std::int64_t rows = 0;
};

std::string column_list(const Manifest& manifest) {
  std::string list;
  for (const auto& column : manifest.columns)
    list += (list.empty() ? "" : ", ") + quote_identifier(column.name);
  return list;
}

// `types` are the server's rendering of the manifest's column types (resolve_column_types), not
// the manifest's text.
std::string create_table_sql(const QualifiedName& table, const Manifest& manifest,
                             const std::vector<std::string>& types) {
  std::string sql = "CREATE TABLE " + table.quoted() + " (";
  for (std::size_t i = 0; i < manifest.columns.size(); ++i) {
    const auto& column = manifest.columns[i];
    sql += (i == 0 ? "" : ", ") + quote_identifier(column.name) + " " + types.at(i) +
           (column.not_null ? " NOT NULL" : "");
  }
  return sql + ")";
}

[[noreturn]] void refuse(const fs::path& manifest_path, const std::string& field, const std::string& why) {
  throw usage_error("manifest " + manifest_path.string() + ": field \"" + field + "\" " + why +
                    "; nothing was restored");
}

// Re-attaching puts the rows into the parent's columns: each archived column must be one of
// them, with the same type (extra columns of the parent are left to their defaults).
void check_parent_columns(LibpqSession& session, const fs::path& manifest_path, const Manifest& manifest) {
  const auto rows = session.query(
      "SELECT a.attname, pg_catalog.format_type(a.atttypid, a.atttypmod) FROM pg_catalog.pg_attribute a"
      " WHERE a.attrelid = pg_catalog.to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped"
      " AND a.attgenerated = ''",
      {manifest.table.quoted()});
  for (std::size_t i = 0; i < manifest.columns.size(); ++i) {
    const auto& column = manifest.columns[i];
    const std::string field = "columns[" + std::to_string(i) + "]";
    const auto found =
        std::find_if(rows.begin(), rows.end(), [&](const auto& row) { return row[0] == column.name; });
    if (found == rows.end()) {
      refuse(manifest_path, field + ".name",
             quote_input(column.name) + " is not a column of " + manifest.table.display() +
                 " (restore with --into TABLE)");
    }
    if ((*found)[1] != column.type) {
      refuse(manifest_path, field + ".type",
             quote_input(column.type) + " differs from " + manifest.table.display() + "'s " +
                 quote_input((*found)[1].value_or("")) + " (restore with --into TABLE)");
    }
  }
}

std::string bound_of(LibpqSession& session, const QualifiedName& table) {
  const auto rows = session.query(
      "SELECT COALESCE(pg_catalog.pg_get_expr(c.relpartbound, c.oid), '') FROM pg_catalog.pg_class c"
      " WHERE c.oid = pg_catalog.to_regclass($1)",
      {table.quoted()});
  return rows.empty() ? std::string() : rows[0][0].value_or("");
}

bool table_exists(LibpqSession& session, const QualifiedName& table) {
  const auto rows = session.query("SELECT pg_catalog.to_regclass($1) IS NOT NULL", {table.quoted()});
  return rows.at(0).at(0) == "t";
}

// relkind of an existing relation ('p' partitioned, 'r' plain, ...), nullopt when missing.
std::optional<std::string> relation_kind(LibpqSession& session, const QualifiedName& table) {
  const auto rows =
      session.query("SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = pg_catalog.to_regclass($1)",
                    {table.quoted()});
  if (rows.empty() || !rows[0][0]) return std::nullopt;
  return rows[0][0];
}

RestoreResult restore(LibpqSession& session, const fs::path& manifest_path, const Manifest& manifest,
                      const fs::path& data, const std::optional<QualifiedName>& into) {
  RestoreResult result;
  // Before anything changes: every type must resolve (this is where a doctored type stops).
  const std::vector<std::string> types = resolve_column_types(session, manifest, manifest_path.string());
  session.execute("BEGIN");
  // As the archive was written: the bound compares in ISO form and UTC, whatever the role's settings.
  session.execute("SET LOCAL TimeZone = 'UTC'");
  session.execute("SET LOCAL DateStyle = 'ISO, YMD'");
  if (!into) {
    result.table = manifest.partition;
    if (table_exists(session, result.table)) {
      throw usage_error("table " + result.table.display() +
                        " already exists; drop it first, or restore into another table with --into TABLE");
    }
    const auto parent_kind = relation_kind(session, manifest.table);
    if (!manifest.bound_text.empty() && parent_kind == "p") {
      check_parent_columns(session, manifest_path, manifest);
      // Rebuilt from the typed instants; bound_text is what the result must read back as.
      const std::string bound =
          partition_bound_sql(manifest, [&](std::string_view v) { return session.literal(v); });
      session.execute("CREATE TABLE " + result.table.quoted() + " PARTITION OF " + manifest.table.quoted() +
                      " " + bound);
      if (const std::string created = bound_of(session, result.table); created != manifest.bound_text) {
        refuse(manifest_path, "bounds",
               "does not round-trip: bounds.lower and bounds.upper give " + quote_input(created) +
                   ", bounds.bound_text says " + quote_input(manifest.bound_text) +
                   " (restore with --into TABLE)");
      }
      result.attached_to = manifest.table;
    } else if (!manifest.bound_text.empty() && parent_kind) {
      throw usage_error("cannot re-attach " + result.table.display() + ": " + manifest.table.display() +
                        " exists but is not a partitioned table; restore with --into TABLE");
    } else {
      // The parent is gone (or the archive was never a partition): the rows still come back,
      // as a table of their own.
      session.execute(create_table_sql(result.table, manifest, types));
    }
    result.created = true;
  } else {
    result.table = *into;
    if (!table_exists(session, result.table)) {
      session.execute(create_table_sql(result.table, manifest, types));
      result.created = true;
    }
  }

  // The file was verified before the transaction began; it is hashed again as it streams, so
  // a file changed in between fails the restore instead of loading other rows.
  const std::string copy = "COPY " + result.table.quoted() + " (" + column_list(manifest) + ") FROM STDIN";
  result.rows = session.copy_in(copy, [&](const LibpqSession::Put& put) {
    const ArchiveSummary streamed = read_archive(data, manifest.compression, put);
    if (streamed.sha256 != manifest.sha256) {
      throw usage_error("archive " + data.string() + " changed while it was being restored");
    }
  });
  if (result.rows != manifest.row_count) {
    throw usage_error("restore of " + data.string() + " loaded " + std::to_string(result.rows) +
                      " rows but the manifest records " + std::to_string(manifest.row_count) +
                      "; nothing was changed");
  }
  session.execute("COMMIT");
  return result;
}

void print(const Context& context, const fs::path& manifest_path, const Manifest& manifest,
           const RestoreResult& r) {
  switch (context.output) {
    case OutputFormat::json:
      std::cout << nlohmann::ordered_json{
                       {"manifest", manifest_path.string()},
                       {"table", r.table.display()},
                       {"created", r.created},
                       {"attached_to", r.attached_to ? nlohmann::ordered_json(r.attached_to->display()) : nullptr},
                       {"bound", r.attached_to ? nlohmann::ordered_json(manifest.bound_text) : nullptr},
                       {"rows", r.rows},
                       {"bytes", manifest.bytes},
                       {"sha256", manifest.sha256},
                   }.dump()
                << "\n";
      break;
    case OutputFormat::compact:
      std::cout << "table=" << r.table.display() << " created=" << (r.created ? "true" : "false")
                << " attached_to=" << (r.attached_to ? r.attached_to->display() : "-") << " rows=" << r.rows
                << " sha256=" << manifest.sha256 << "\n";
      break;
    case OutputFormat::table:
      if (context.quiet) break;
      std::cout << "restored " << r.rows << " rows into " << r.table.display();
      if (r.attached_to) {
        std::cout << ", re-attached as a partition of " << r.attached_to->display() << " "
                  << manifest.bound_text;
      } else if (r.created) {
        std::cout << " (created)";
      }
      std::cout << "\n";
      break;
  }
}

}  // namespace

ExitCode run_restore_command(Context& context) {
  std::string into_text;
  std::vector<std::string> positionals;
  po::options_description options("Options");
  options.add_options()(
      "into", po::value(&into_text)->value_name("TABLE"),
      "load the rows into TABLE (created from the manifest's columns when missing) instead of "
      "re-creating the partition");
  if (context.help) {
    std::cout << command_help(
        "restore MANIFEST [--into TABLE]",
        "Brings an archived (snapshot) partition back. The manifest's own checksum and the data\n"
        "file's sha256 and row count are verified before the database is touched, and each column\n"
        "type must resolve through the server (anything more in a type is refused). Then, in one\n"
        "transaction, the partition is re-created under its name and attached to its parent with its\n"
        "original bounds (a table of its own when the parent is gone), the rows are loaded and their\n"
        "count checked. With --into, the rows go into TABLE instead. Name any archive's manifest:\n"
        "a partition name archived twice (a re-created table) has one archive per incarnation.\n"
        "A partition restored to its place is still expired: disable its policy first, or use --into.",
        options);
    return ExitCode::ok;
  }
  po::options_description all;
  all.add(options).add_options()("manifest", po::value(&positionals)->composing());
  po::positional_options_description positional;
  positional.add("manifest", 1);
  (void)parse_command_line(context.args, all, positional);
  if (positionals.size() != 1 || positionals[0].empty()) throw usage_error("restore needs a MANIFEST file");
  std::optional<QualifiedName> into;
  if (!into_text.empty()) into = QualifiedName::parse(into_text);

  const fs::path manifest_path = positionals[0];
  const Manifest manifest = read_manifest(manifest_path);
  const fs::path data = manifest_path.parent_path() / manifest.data_file;

  // Verify before the database is touched: a damaged or incomplete archive changes nothing.
  ArchiveSummary found;
  try {
    found = read_archive(data, manifest.compression);
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw usage_error(std::string(e.what()) + "; nothing was restored");
  }
  const auto reject = [&](const std::string& what, const std::string& expected, const std::string& actual) {
    throw usage_error("archive " + data.string() + " does not match its manifest: " + what + " " + actual +
                      ", manifest says " + expected + "; nothing was restored");
  };
  if (found.sha256 != manifest.sha256) reject("sha256", manifest.sha256, found.sha256);
  if (found.bytes != manifest.bytes)
    reject("size", std::to_string(manifest.bytes), std::to_string(found.bytes));
  if (found.rows != manifest.row_count) {
    reject("row count", std::to_string(manifest.row_count), std::to_string(found.rows));
  }

  LibpqSession session(context.config.database);
  RestoreResult result;
  try {
    result = restore(session, manifest_path, manifest, data, into);
  } catch (const Error&) {
    throw;  // already one line with its exit code; the open transaction dies with the session
  } catch (const std::exception& e) {
    const std::string why =
        "restore of " + manifest_path.string() + " failed: " + e.what() + "; nothing was changed";
    if (!session.connected()) throw database_error(why);
    throw usage_error(why);
  }
  if (manifest.format_version < 2) {
    // Written before manifests carried their own checksum: still restorable (every value is
    // checked by the server before it is used), but its integrity cannot be proven. Said after
    // the fact, so that a refusal stays one line.
    std::cerr << "warning: manifest " << manifest_path.string() << " has format_version "
              << manifest.format_version << " and no manifest_sha256: it cannot be checked for changes\n";
  }
  print(context, manifest_path, manifest, result);
  return ExitCode::ok;
}

}  // namespace retentiond
