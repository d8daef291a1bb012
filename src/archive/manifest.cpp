#include "retentiond/archive/manifest.hpp"

#include <cstdio>
#include <fstream>
#include <limits>
#include <sstream>

#include <nlohmann/json.hpp>

#include "retentiond/archive/sha256.hpp"
#include "retentiond/core/error.hpp"
#include "retentiond/core/time.hpp"

namespace fs = std::filesystem;
using nlohmann::ordered_json;

namespace retentiond {
namespace {

ordered_json name_json(const QualifiedName& name) {
  return ordered_json{{"display", name.display()}, {"schema", name.schema}, {"name", name.name}};
}

// PostgreSQL's NAMEDATALEN - 1: a longer name cannot come from a catalog (the server would
// truncate it, so it would not name what the manifest says).
constexpr std::size_t kMaxIdentifierBytes = 63;

// The checksum covers the compact serialisation of every other field, in the order they appear:
// a value changed by hand without recomputing it is noticed before any of it is trusted.
std::string document_digest(const ordered_json& document_without_checksum) {
  return sha256_hex(document_without_checksum.dump());
}

ordered_json instant_json(const std::optional<std::chrono::sys_seconds>& t) {
  return t ? ordered_json(format_instant(*t)) : ordered_json(nullptr);
}

// Reads fields out of the parsed document; every complaint is one line naming the field by its
// dotted path, so an operator can find it in the file.
class Fields {
 public:
  explicit Fields(std::string source) : source_(std::move(source)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw usage_error("manifest " + source_ + ": " + what);
  }

  const ordered_json& member(const ordered_json& object, const std::string& key,
                             const std::string& path) const {
    auto it = object.find(key);
    if (it == object.end()) fail("missing field \"" + path + "\"");
    return *it;
  }

  const ordered_json& object(const ordered_json& parent, const std::string& key,
                             const std::string& path) const {
    const auto& value = member(parent, key, path);
    if (!value.is_object()) fail("field \"" + path + "\" must be an object");
    return value;
  }

  std::string string(const ordered_json& parent, const std::string& key, const std::string& path,
                     bool allow_empty = false) const {
    const auto& value = member(parent, key, path);
    if (!value.is_string()) fail("field \"" + path + "\" must be a string");
    auto text = value.get<std::string>();
    if (text.empty() && !allow_empty) fail("field \"" + path + "\" must not be empty");
    if (text.find('\0') != std::string::npos) fail("field \"" + path + "\" contains a NUL character");
    return text;
  }

  std::int64_t count(const ordered_json& parent, const std::string& key, const std::string& path) const {
    const auto& value = member(parent, key, path);
    if (!value.is_number_integer() || (!value.is_number_unsigned() && value.get<std::int64_t>() < 0)) {
      fail("field \"" + path + "\" must be a non-negative integer");
    }
    if (value.is_number_unsigned() &&
        value.get<std::uint64_t>() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      fail("field \"" + path + "\" is out of range");
    }
    return value.get<std::int64_t>();
  }

  bool boolean(const ordered_json& parent, const std::string& key, const std::string& path) const {
    const auto& value = member(parent, key, path);
    if (!value.is_boolean()) fail("field \"" + path + "\" must be true or false");
    return value.get<bool>();
  }

  std::optional<std::chrono::sys_seconds> instant(const ordered_json& parent, const std::string& key,
                                                  const std::string& path, bool nullable) const {
    const auto& value = member(parent, key, path);
    if (value.is_null() && nullable) return std::nullopt;
    if (!value.is_string()) fail("field \"" + path + "\" must be a UTC timestamp like 2024-01-02T00:00:00Z");
    auto t = parse_utc(value.get<std::string>());
    if (!t)
      fail("field \"" + path + "\" is not a UTC timestamp like 2024-01-02T00:00:00Z: \"" +
           value.get<std::string>() + "\"");
    return t;
  }

  std::string identifier(const ordered_json& parent, const std::string& key, const std::string& path) const {
    auto text = string(parent, key, path);
    if (text.size() > kMaxIdentifierBytes) {
      fail("field \"" + path + "\" is longer than PostgreSQL's " + std::to_string(kMaxIdentifierBytes) +
           " bytes for a name");
    }
    return text;
  }

  QualifiedName name(const ordered_json& parent, const std::string& key) const {
    const auto& value = object(parent, key, key);
    return QualifiedName{identifier(value, "schema", key + ".schema"),
                         identifier(value, "name", key + ".name")};
  }

 private:
  std::string source_;
};

bool is_lower_hex(std::string_view text) {
  return text.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

std::string hex_byte(unsigned char c) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  return {'%', kHex[c >> 4], kHex[c & 0x0f]};
}

}  // namespace

std::optional<std::chrono::sys_seconds> parse_utc(std::string_view text) {
  // Exactly YYYY-MM-DDTHH:MM:SSZ, the form format_instant writes.
  if (text.size() != 20 || text[4] != '-' || text[7] != '-' || text[10] != 'T' || text[13] != ':' ||
      text[16] != ':' || text[19] != 'Z') {
    return std::nullopt;
  }
  auto number = [&](std::size_t at, std::size_t digits) -> std::optional<int> {
    int value = 0;
    for (std::size_t i = at; i < at + digits; ++i) {
      if (text[i] < '0' || text[i] > '9') return std::nullopt;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  auto year = number(0, 4), month = number(5, 2), day = number(8, 2);
  auto hour = number(11, 2), minute = number(14, 2), second = number(17, 2);
  if (!year || !month || !day || !hour || !minute || !second) return std::nullopt;
  const std::chrono::year_month_day ymd{std::chrono::year(*year),
                                        std::chrono::month(static_cast<unsigned>(*month)),
                                        std::chrono::day(static_cast<unsigned>(*day))};
  if (!ymd.ok() || *hour > 23 || *minute > 59 || *second > 59) return std::nullopt;
  return std::chrono::sys_days{ymd} + std::chrono::hours(*hour) + std::chrono::minutes(*minute) +
         std::chrono::seconds(*second);
}

std::string manifest_to_json(const Manifest& m) {
  ordered_json columns = ordered_json::array();
  for (const auto& column : m.columns) {
    columns.push_back(
        ordered_json{{"name", column.name}, {"type", column.type}, {"not_null", column.not_null}});
  }
  ordered_json document{
      {"format_version", Manifest::kFormatVersion},
      {"retentiond_version", m.retentiond_version},
      {"table", name_json(m.table)},
      {"partition", name_json(m.partition)},
      {"bounds",
       ordered_json{
           {"lower", instant_json(m.lower)}, {"upper", instant_json(m.upper)}, {"bound_text", m.bound_text}}},
      {"columns", columns},
      {"row_count", m.row_count},
      {"bytes", m.bytes},
      {"uncompressed_bytes", m.uncompressed_bytes},
      {"sha256", m.sha256},
      {"compression", std::string(compression_name(m.compression))},
      {"data_file", m.data_file},
      {"created_at", format_instant(m.created_at)},
  };
  document["identity"] = m.identity ? ordered_json{{"table_oid", m.identity->table_oid},
                                                   {"partition_oid", m.identity->partition_oid},
                                                   {"relfilenode", m.identity->relfilenode}}
                                    : ordered_json(nullptr);
  document["manifest_sha256"] = document_digest(document);
  return document.dump(2) + "\n";
}

Manifest parse_manifest(std::string_view json, std::string_view source) {
  Fields f{std::string(source)};
  ordered_json document;
  try {
    document = ordered_json::parse(json.begin(), json.end());
  } catch (const nlohmann::json::parse_error& e) {
    // nlohmann's message carries its own prefix ("[json.exception.parse_error.101] ..."); the
    // byte position is what helps.
    f.fail("not valid JSON (at byte " + std::to_string(e.byte) + ")");
  }
  if (!document.is_object()) f.fail("not a JSON object");

  Manifest m;
  const auto& version = f.member(document, "format_version", "format_version");
  if (!version.is_number_integer()) f.fail("field \"format_version\" must be an integer");
  if (version.get<std::int64_t>() < Manifest::kOldestFormatVersion ||
      version.get<std::int64_t>() > Manifest::kFormatVersion) {
    f.fail("unsupported format_version " + version.dump() + " (this retentiond reads versions " +
           std::to_string(Manifest::kOldestFormatVersion) + " to " +
           std::to_string(Manifest::kFormatVersion) + ")");
  }
  m.format_version = static_cast<int>(version.get<std::int64_t>());
  m.retentiond_version = f.string(document, "retentiond_version", "retentiond_version");
  m.table = f.name(document, "table");
  m.partition = f.name(document, "partition");
  const auto& bounds = f.object(document, "bounds", "bounds");
  m.lower = f.instant(bounds, "lower", "bounds.lower", true);
  m.upper = f.instant(bounds, "upper", "bounds.upper", true);
  m.bound_text = f.string(bounds, "bound_text", "bounds.bound_text", /*allow_empty=*/true);
  if (!m.bound_text.empty() && !m.bound_text.starts_with("FOR VALUES ")) {
    f.fail("field \"bounds.bound_text\" must start with \"FOR VALUES \"");
  }

  const auto& columns = f.member(document, "columns", "columns");
  if (!columns.is_array() || columns.empty()) f.fail("field \"columns\" must be a non-empty array");
  for (std::size_t i = 0; i < columns.size(); ++i) {
    const std::string path = "columns[" + std::to_string(i) + "]";
    if (!columns[i].is_object()) f.fail("field \"" + path + "\" must be an object");
    m.columns.push_back(ColumnDefinition{f.identifier(columns[i], "name", path + ".name"),
                                         f.string(columns[i], "type", path + ".type"),
                                         f.boolean(columns[i], "not_null", path + ".not_null")});
  }

  m.row_count = f.count(document, "row_count", "row_count");
  m.bytes = f.count(document, "bytes", "bytes");
  m.uncompressed_bytes = f.count(document, "uncompressed_bytes", "uncompressed_bytes");
  m.sha256 = f.string(document, "sha256", "sha256");
  if (m.sha256.size() != 64 || !is_lower_hex(m.sha256)) {
    f.fail("field \"sha256\" must be 64 lower-case hex digits");
  }
  const auto compression = f.string(document, "compression", "compression");
  if (compression != "zstd" && compression != "none") {
    f.fail("field \"compression\" must be zstd or none, not \"" + compression + "\"");
  }
  m.compression = parse_compression(compression);
  m.data_file = f.string(document, "data_file", "data_file");
  // The data file must sit next to the manifest: a path would let a manifest point restore at
  // any file on the machine.
  if (m.data_file.find('/') != std::string::npos || m.data_file == "." || m.data_file == "..") {
    f.fail("field \"data_file\" must be a plain file name, not \"" + m.data_file + "\"");
  }
  m.created_at = *f.instant(document, "created_at", "created_at", false);
  if (m.format_version >= 2) {
    // null: written without one (an unknown incarnation, like a version 1 manifest).
    if (const auto& identity = f.member(document, "identity", "identity"); !identity.is_null()) {
      if (!identity.is_object()) f.fail("field \"identity\" must be an object or null");
      m.identity =
          PartitionIdentity{.table_oid = f.count(identity, "table_oid", "identity.table_oid"),
                            .partition_oid = f.count(identity, "partition_oid", "identity.partition_oid"),
                            .relfilenode = f.count(identity, "relfilenode", "identity.relfilenode")};
    }
    // Last: every field is known to be well-formed, and now also to be what was written.
    const auto recorded = f.string(document, "manifest_sha256", "manifest_sha256");
    if (recorded.size() != 64 || !is_lower_hex(recorded)) {
      f.fail("field \"manifest_sha256\" must be 64 lower-case hex digits");
    }
    ordered_json rest = document;
    rest.erase("manifest_sha256");
    if (document_digest(rest) != recorded) {
      f.fail(
          "field \"manifest_sha256\" does not match the manifest's contents: it was changed after it was "
          "written");
    }
  }
  return m;
}

Manifest read_manifest(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::error_code ec;
    const bool exists = fs::exists(path, ec);
    throw usage_error("manifest " + path.string() + ": " + (exists ? "cannot be read" : "no such file"));
  }
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw usage_error("manifest " + path.string() + ": cannot be read");
  return parse_manifest(text.str(), path.string());
}

void write_manifest(const fs::path& path, const Manifest& manifest) {
  write_file_durably(path, manifest_to_json(manifest));
}

std::string encode_file_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (std::size_t i = 0; i < name.size(); ++i) {
    const auto c = static_cast<unsigned char>(name[i]);
    const bool encode = c == '%' || c == '/' || c < 0x20 || c == 0x7f || (i == 0 && c == '.');
    if (encode) {
      out += hex_byte(c);
    } else {
      out += static_cast<char>(c);
    }
  }
  // An empty identifier cannot come from the catalog, but "" must not become a directory's
  // own name either.
  return out.empty() ? "%00" : out;
}

ArchivePaths archive_paths(const fs::path& repository, const QualifiedName& table,
                           const QualifiedName& partition, Compression compression) {
  return archive_paths(repository, table, partition, compression, "");
}

ArchivePaths archive_paths(const fs::path& repository, const QualifiedName& table,
                           const QualifiedName& partition, Compression compression, std::string_view suffix) {
  ArchivePaths paths;
  paths.directory = repository / encode_file_name(partition.schema) / encode_file_name(table.name);
  const std::string base = encode_file_name(partition.name) + std::string(suffix);
  paths.data = paths.directory / (base + std::string(data_file_suffix(compression)));
  paths.manifest = paths.directory / (base + ".manifest.json");
  return paths;
}

}  // namespace retentiond
