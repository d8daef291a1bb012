// Manifests that restore can trust, and archive names that never replace another incarnation.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "retentiond/archive/archive_slot.hpp"
#include "retentiond/archive/manifest.hpp"
#include "retentiond/archive/manifest_sql.hpp"
#include "retentiond/archive/sha256.hpp"
#include "retentiond/core/error.hpp"

namespace fs = std::filesystem;
using namespace retentiond;

namespace {

struct Directory {
  fs::path path;
  Directory() {
    std::string pattern = (fs::temp_directory_path() / "retentiond-slot-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~Directory() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  Directory(const Directory&) = delete;
  Directory& operator=(const Directory&) = delete;
};

Manifest sample() {
  Manifest m;
  m.retentiond_version = "0.1.0";
  m.table = QualifiedName{"public", "metrics"};
  m.partition = QualifiedName{"public", "metrics_p20240101"};
  m.lower = parse_utc("2024-01-01T00:00:00Z");
  m.upper = parse_utc("2024-01-02T00:00:00Z");
  m.bound_text = "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-02 00:00:00+00')";
  m.columns = {{"ts", "timestamp with time zone", true}};
  m.sha256 = std::string(64, 'b');
  m.data_file = "metrics_p20240101.copy.zst";
  m.created_at = *parse_utc("2024-05-06T07:08:09Z");
  m.identity = PartitionIdentity{.table_oid = 16384, .partition_oid = 16390, .relfilenode = 16391};
  return m;
}

std::string error_of(const std::string& json) {
  try {
    (void)parse_manifest(json, "m.json");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    return e.what();
  }
  return "";
}

std::string recompute(nlohmann::ordered_json document) {
  document.erase("manifest_sha256");
  document["manifest_sha256"] = sha256_hex(document.dump());
  return document.dump(2);
}

}  // namespace

TEST_CASE("manifest safety: a manifest carries its identity and a checksum of everything else") {
  const std::string json = manifest_to_json(sample());
  const auto document = nlohmann::ordered_json::parse(json);
  CHECK(document["format_version"] == 2);
  CHECK(document["identity"]["partition_oid"] == 16390);
  CHECK(document.items().begin().key() == "format_version");
  CHECK((--document.end()).key() == "manifest_sha256");
  CHECK(parse_manifest(json, "m.json") == sample());

  Manifest unknown = sample();
  unknown.identity.reset();
  CHECK(parse_manifest(manifest_to_json(unknown), "m.json") == unknown);
}

TEST_CASE("manifest safety: an edited manifest fails its checksum unless the checksum is recomputed") {
  auto document = nlohmann::ordered_json::parse(manifest_to_json(sample()));
  document["columns"][0]["type"] = "bigint";
  CHECK(error_of(document.dump(2)).find("\"manifest_sha256\" does not match") != std::string::npos);
  CHECK(error_of(recompute(document)).empty());  // then only restore's server-side checks stand

  auto no_sum = nlohmann::ordered_json::parse(manifest_to_json(sample()));
  no_sum.erase("manifest_sha256");
  CHECK(error_of(no_sum.dump()).find("missing field \"manifest_sha256\"") != std::string::npos);
  no_sum["manifest_sha256"] = "ABC";
  CHECK(error_of(no_sum.dump()).find("\"manifest_sha256\" must be 64") != std::string::npos);
  // Whitespace and layout are not part of what is checked.
  CHECK(error_of(nlohmann::ordered_json::parse(manifest_to_json(sample())).dump()).empty());
}

TEST_CASE(
    "manifest safety: a version 1 manifest reads without identity or checksum; a missing identity is refused "
    "in version 2") {
  auto document = nlohmann::ordered_json::parse(manifest_to_json(sample()));
  document["format_version"] = 1;
  document.erase("identity");
  document.erase("manifest_sha256");
  const Manifest old = parse_manifest(document.dump(2), "old.json");
  CHECK(old.format_version == 1);
  CHECK_FALSE(old.identity);

  auto v2 = nlohmann::ordered_json::parse(manifest_to_json(sample()));
  v2.erase("identity");
  CHECK(error_of(recompute(v2)).find("missing field \"identity\"") != std::string::npos);
  v2["identity"] = "16390";
  CHECK(error_of(recompute(v2)).find("\"identity\"") != std::string::npos);
  v2["identity"] = {{"table_oid", 1}, {"partition_oid", -2}, {"relfilenode", 3}};
  CHECK(error_of(recompute(v2)).find("\"identity.partition_oid\"") != std::string::npos);
}

TEST_CASE("manifest safety: a name longer than any catalog holds is refused, naming the field") {
  auto document = nlohmann::ordered_json::parse(manifest_to_json(sample()));
  document["columns"][0]["name"] = std::string(64, 'c');
  CHECK(error_of(recompute(document)).find("\"columns[0].name\"") != std::string::npos);
  document["columns"][0]["name"] = std::string(63, 'c');
  CHECK(error_of(recompute(document)).empty());
  document["partition"]["name"] = std::string(70, 'p');
  CHECK(error_of(recompute(document)).find("\"partition.name\"") != std::string::npos);
}

TEST_CASE("manifest safety: type modifiers split off only as one list of unsigned integers") {
  using V = std::vector<std::string>;
  CHECK(split_type_modifiers("integer") == TypeText{"integer", {}});
  CHECK(split_type_modifiers("numeric(10,2)") == TypeText{"numeric", V{"10", "2"}});
  CHECK(split_type_modifiers("numeric(10, 2)[]") == TypeText{"numeric[]", V{"10", "2"}});
  CHECK(split_type_modifiers("timestamp(3) with time zone") == TypeText{"timestamp with time zone", V{"3"}});
  CHECK(split_type_modifiers("character varying(20)") == TypeText{"character varying", V{"20"}});
  CHECK(split_type_modifiers("public.\"Odd (type)\"") == TypeText{"public.\"Odd (type)\"", {}});
  CHECK(split_type_modifiers("\"a \"\"(\"\"\"(5)") == TypeText{"\"a \"\"(\"\"\"", V{"5"}});
  for (const char* bad : {"integer CHECK (pg_catalog.lo_import('/etc/hostname') > 0)", "numeric(10,2)(3)",
                          "numeric(-1)", "numeric()", "numeric(1,)", "numeric(1", "integer)",
                          "\"unterminated", "numeric(1e3)", "numeric(1234567890)", "(1)", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(split_type_modifiers(bad));
  }
}

TEST_CASE("manifest safety: the partition bound is rebuilt from the typed instants, each value a literal") {
  const auto literal = [](std::string_view v) { return "L[" + std::string(v) + "]"; };
  Manifest m = sample();
  m.bound_text = "FOR VALUES FROM ('x'); DROP TABLE y; --";  // never used
  CHECK(partition_bound_sql(m, literal) ==
        "FOR VALUES FROM (L[2024-01-01 00:00:00+00]) TO (L[2024-01-02 00:00:00+00])");
  m.lower.reset();
  CHECK(partition_bound_sql(m, literal) == "FOR VALUES FROM (MINVALUE) TO (L[2024-01-02 00:00:00+00])");
  m.upper.reset();
  CHECK(partition_bound_sql(m, literal) == "FOR VALUES FROM (MINVALUE) TO (MAXVALUE)");
}

TEST_CASE("manifest safety: an archive name held by another incarnation is never chosen, its own is") {
  Directory repo;
  const QualifiedName table{"public", "metrics"};
  const Manifest incoming = sample();
  const auto base = archive_paths(repo.path, table, incoming.partition, Compression::zstd);
  const auto beside = archive_paths(repo.path, table, incoming.partition, Compression::zstd, ".16390-16391");
  const auto third =
      archive_paths(repo.path, table, incoming.partition, Compression::zstd, ".16390-16391-20240506T070809Z");
  CHECK(identity_suffix(*incoming.identity) == ".16390-16391");

  // Nothing there (a data file without a manifest is a leftover): the natural name.
  CHECK(choose_archive_slot(repo.path, table, incoming, Compression::zstd).paths.manifest == base.manifest);
  fs::create_directories(base.directory);
  std::ofstream(base.data) << "leftover";
  CHECK(choose_archive_slot(repo.path, table, incoming, Compression::zstd).paths.manifest == base.manifest);

  // The same incarnation: replaced in place.
  write_manifest(base.manifest, incoming);
  auto slot = choose_archive_slot(repo.path, table, incoming, Compression::zstd);
  CHECK(slot.paths.manifest == base.manifest);
  CHECK(slot.same_incarnation);

  // Another incarnation, an unknown one, an unreadable file, a different bound: beside it.
  for (const auto& other :
       {std::string("oid"), std::string("none"), std::string("junk"), std::string("bound")}) {
    CAPTURE(other);
    Manifest existing = incoming;
    if (other == "oid") existing.identity->partition_oid = 99;
    if (other == "none") existing.identity.reset();
    if (other == "bound") existing.bound_text = "FOR VALUES FROM ('2023-01-01') TO ('2023-01-02')";
    write_manifest(base.manifest, existing);
    if (other == "junk") std::ofstream(base.manifest, std::ios::trunc) << "{";
    slot = choose_archive_slot(repo.path, table, incoming, Compression::zstd);
    CHECK(slot.paths.manifest == beside.manifest);
    CHECK(slot.paths.data == beside.data);
    CHECK(slot.suffix == ".16390-16391");
    CHECK_FALSE(slot.same_incarnation);
  }

  // Both taken by others: the third name; all three: refused.
  Manifest stranger = incoming;
  stranger.identity->relfilenode = 1;
  write_manifest(beside.manifest, stranger);
  CHECK(choose_archive_slot(repo.path, table, incoming, Compression::zstd).paths.manifest == third.manifest);
  write_manifest(third.manifest, stranger);
  CHECK_THROWS_WITH_AS((void)choose_archive_slot(repo.path, table, incoming, Compression::zstd),
                       doctest::Contains("the partition was not dropped"), std::runtime_error);
  // ... unless one of them is this incarnation's own.
  write_manifest(beside.manifest, incoming);
  CHECK(choose_archive_slot(repo.path, table, incoming, Compression::zstd).same_incarnation);
}

TEST_CASE("manifest safety: an interval's fields and precision become intervaltypmodin's input") {
  using V = std::vector<std::string>;
  CHECK(interval_modifiers(TypeText{"interval", V{"3"}}) == V{"32767", "3"});
  CHECK(interval_modifiers(TypeText{"interval day to second", V{"2"}}) ==
        V{std::to_string(8 | 1024 | 2048 | 4096), "2"});
  CHECK(interval_modifiers(TypeText{"interval year to month", {}}) == V{std::to_string(4 | 2)});
  CHECK(interval_modifiers(TypeText{"interval second", V{"6"}}) == V{"4096", "6"});
  CHECK_FALSE(interval_modifiers(TypeText{"interval", {}}));
  CHECK_FALSE(interval_modifiers(TypeText{"interval fortnight", {}}));
  CHECK_FALSE(interval_modifiers(TypeText{"intervals", {}}));
  CHECK_FALSE(interval_modifiers(TypeText{"numeric", V{"3"}}));
}
