#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include <doctest/doctest.h>

#include "retentiond/core/time.hpp"

#include "retentiond/archive/archive_reader.hpp"
#include "retentiond/archive/archive_writer.hpp"
#include "retentiond/archive/manifest.hpp"
#include "retentiond/archive/sha256.hpp"
#include "retentiond/core/error.hpp"

namespace fs = std::filesystem;
using namespace retentiond;

namespace {

// A private directory for one test case, removed at the end. Archives are files by nature; the
// tests stay in a temporary directory and take milliseconds.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string pattern = (fs::temp_directory_path() / "retentiond-archive-test-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  [[nodiscard]] std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const auto& entry : fs::directory_iterator(path)) out.push_back(entry.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
  }
};

std::string slurp(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// COPY-text-like rows: tabs between fields, escaped newlines inside values, one row per line.
std::string sample_rows(int count) {
  std::string rows;
  for (int i = 0; i < count; ++i) {
    rows += std::to_string(i) + "\t2024-01-01 00:00:" + std::to_string(i % 60) + "+00\tline one\\nline two " +
            std::to_string(i * 7919 % 1000) + "\n";
  }
  return rows;
}

ArchiveSummary write_archive(const fs::path& path, Compression compression, std::string_view data,
                             std::size_t chunk = 37) {
  ArchiveWriter writer(path, compression);
  for (std::size_t at = 0; at < data.size(); at += chunk) writer.write(data.substr(at, chunk));
  return writer.finish();
}

Manifest sample_manifest() {
  Manifest m;
  m.retentiond_version = "0.1.0";
  m.table = QualifiedName{"My Schema", "metrics \"raw\""};
  m.partition = QualifiedName{"My Schema", "metrics_p20240101"};
  m.lower = parse_utc("2024-01-01T00:00:00Z");
  m.upper = parse_utc("2024-01-02T00:00:00Z");
  m.bound_text = "FOR VALUES FROM ('2024-01-01 00:00:00+00') TO ('2024-01-02 00:00:00+00')";
  m.columns = {{"ts", "timestamp with time zone", true}, {"Value", "numeric(10,2)", false}};
  m.row_count = 1440;
  m.bytes = 12345;
  m.uncompressed_bytes = 67890;
  m.sha256 = std::string(64, 'a');
  m.compression = Compression::zstd;
  m.data_file = "metrics_p20240101.copy.zst";
  m.created_at = *parse_utc("2024-05-06T07:08:09Z");
  return m;
}

// The usage Error message parse_manifest gives for `json`, or "" when it parses.
std::string manifest_error(const std::string& json) {
  try {
    (void)parse_manifest(json, "m.json");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::usage);
    CHECK(std::string(e.what()).find('\n') == std::string::npos);
    return e.what();
  }
  return "";
}

// The sample manifest's JSON with one edit applied by text replacement.
std::string edited(const std::string& from, const std::string& to) {
  std::string json = manifest_to_json(sample_manifest());
  const auto at = json.find(from);
  REQUIRE(at != std::string::npos);
  return json.replace(at, from.size(), to);
}

}  // namespace

TEST_CASE("archive: sha256 of known input matches the published digests") {
  CHECK(sha256_hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  CHECK(sha256_hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  Sha256 pieces;
  pieces.update("a");
  pieces.update("bc");
  CHECK(pieces.hex_digest() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST_CASE("archive: an uncompressed archive is the data itself, with its sha256 and row count") {
  TempDir dir;
  const auto file = dir.path / "p.copy";
  const auto summary = write_archive(file, Compression::none, "abc\n");
  CHECK(slurp(file) == "abc\n");
  CHECK(summary.sha256 == "edeaaff3f1774ad2888673770c6d64097e391bc362d7d6fb34982ddf0efd18cb");
  CHECK(summary.rows == 1);
  CHECK(summary.bytes == 4);
  CHECK(dir.names() == std::vector<std::string>{"p.copy"});
}

TEST_CASE("archive: zstd and uncompressed archives read back byte for byte") {
  // More than one 1 MiB input block, so rows span blocks and compressor calls.
  const std::string data = sample_rows(60000);
  REQUIRE(data.size() > (std::size_t{2} << 20));
  for (Compression compression : {Compression::zstd, Compression::none}) {
    CAPTURE(compression_name(compression));
    TempDir dir;
    const auto file = dir.path / ("p" + std::string(data_file_suffix(compression)));
    const ArchiveSummary written = write_archive(file, compression, data, 4093);
    CHECK(written.rows == 60000);
    CHECK(written.raw_bytes == static_cast<std::int64_t>(data.size()));
    CHECK(written.bytes == static_cast<std::int64_t>(fs::file_size(file)));
    CHECK(written.sha256 == sha256_hex(slurp(file)));
    if (compression == Compression::zstd) CHECK(written.bytes < written.raw_bytes / 3);

    std::string back;
    const ArchiveSummary read =
        read_archive(file, compression, [&](std::string_view chunk) { back.append(chunk); });
    CHECK(back == data);
    CHECK(read.rows == written.rows);
    CHECK(read.sha256 == written.sha256);
    CHECK(read.bytes == written.bytes);
    CHECK(read.raw_bytes == written.raw_bytes);
    CHECK(dir.names().size() == 1);  // no temporary file left behind
  }
}

TEST_CASE("archive: an empty partition makes a valid archive with zero rows") {
  for (Compression compression : {Compression::zstd, Compression::none}) {
    TempDir dir;
    const auto file = dir.path / "empty";
    const auto written = write_archive(file, compression, "");
    const auto read = read_archive(file, compression);
    CHECK(written.rows == 0);
    CHECK(read.rows == 0);
    CHECK(read.sha256 == written.sha256);
  }
}

TEST_CASE("archive: the file appears under its final name only when finished") {
  TempDir dir;
  const auto file = dir.path / "p.copy.zst";
  {
    ArchiveWriter writer(file, Compression::zstd);
    writer.write(sample_rows(10));
    CHECK(fs::exists(writer.temporary()));
    CHECK(writer.temporary().filename().string() == "p.copy.zst.tmp-" + std::to_string(getpid()));
    CHECK_FALSE(fs::exists(file));
    // Destroyed without finish(): what an exception or a failed COPY does.
  }
  CHECK(dir.names().empty());
}

TEST_CASE("archive: a truncated or corrupted zstd archive is rejected") {
  TempDir dir;
  const auto file = dir.path / "p.copy.zst";
  (void)write_archive(file, Compression::zstd, sample_rows(20000));
  const std::string whole = slurp(file);

  std::ofstream(file, std::ios::binary | std::ios::trunc) << whole.substr(0, whole.size() / 2);
  CHECK_THROWS_WITH_AS(read_archive(file, Compression::zstd), doctest::Contains("truncated"),
                       std::runtime_error);

  std::string flipped = whole;
  flipped[flipped.size() / 2] = static_cast<char>(flipped[flipped.size() / 2] ^ 0x55);
  std::ofstream(file, std::ios::binary | std::ios::trunc) << flipped;
  CHECK_THROWS_AS(read_archive(file, Compression::zstd), std::runtime_error);

  std::ofstream(file, std::ios::binary | std::ios::trunc) << "";
  CHECK_THROWS_WITH_AS(read_archive(file, Compression::zstd), doctest::Contains("truncated"),
                       std::runtime_error);
}

TEST_CASE("archive: uncompressed data that ends inside a row is rejected") {
  TempDir dir;
  std::ofstream(dir.path / "p.copy", std::ios::binary) << "1\ta\n2\tb";
  CHECK_THROWS_WITH_AS(read_archive(dir.path / "p.copy", Compression::none),
                       doctest::Contains("inside a row"), std::runtime_error);
  CHECK_THROWS_WITH_AS(read_archive(dir.path / "missing.copy", Compression::none),
                       doctest::Contains("missing.copy"), std::runtime_error);
}

TEST_CASE("archive: stale temporaries of one file are removed, other files are kept") {
  TempDir dir;
  const auto file = dir.path / "p.copy.zst";
  for (const char* name : {"p.copy.zst.tmp-1", "p.copy.zst.tmp-99999", "p.copy.zst", "p2.copy.zst.tmp-1",
                           "p.manifest.json", "p.copy.zst.tmp-"}) {
    std::ofstream(dir.path / name) << "x";
  }
  CHECK(remove_stale_temporaries(file) == 2);
  CHECK(dir.names() ==
        std::vector<std::string>{"p.copy.zst", "p.copy.zst.tmp-", "p.manifest.json", "p2.copy.zst.tmp-1"});
}

TEST_CASE("archive: write_file_durably replaces a file and leaves no temporary behind") {
  TempDir dir;
  write_file_durably(dir.path / "m.json", "one");
  write_file_durably(dir.path / "m.json", "two");
  CHECK(slurp(dir.path / "m.json") == "two");
  CHECK(dir.names() == std::vector<std::string>{"m.json"});
  create_directories_durably(dir.path / "a" / "b" / "c");
  CHECK(fs::is_directory(dir.path / "a" / "b" / "c"));
}

TEST_CASE("archive: compression names parse, others are usage errors") {
  CHECK(parse_compression("zstd") == Compression::zstd);
  CHECK(parse_compression("none") == Compression::none);
  CHECK_THROWS_WITH_AS((void)parse_compression("gzip"), doctest::Contains("\"gzip\""), Error);
}

TEST_CASE("archive: a manifest keeps every field through JSON") {
  const Manifest m = sample_manifest();
  const std::string json = manifest_to_json(m);
  CHECK(parse_manifest(json, "m.json") == m);
  CHECK(json.find("\"display\": \"\\\"My Schema\\\".metrics_p20240101\"") != std::string::npos);
  CHECK(json.find("\"lower\": \"2024-01-01T00:00:00Z\"") != std::string::npos);

  Manifest open = m;
  open.lower.reset();
  open.bound_text.clear();
  open.compression = Compression::none;
  CHECK(parse_manifest(manifest_to_json(open), "m.json") == open);
}

TEST_CASE("archive: a manifest written to a file reads back the same") {
  TempDir dir;
  write_manifest(dir.path / "p.manifest.json", sample_manifest());
  CHECK(read_manifest(dir.path / "p.manifest.json") == sample_manifest());
  CHECK(dir.names() == std::vector<std::string>{"p.manifest.json"});
  CHECK_THROWS_WITH_AS(read_manifest(dir.path / "nope.json"), doctest::Contains("no such file"), Error);
}

TEST_CASE("archive: every manifest validation error is one line naming the field") {
  CHECK(manifest_error(manifest_to_json(sample_manifest())).empty());
  CHECK(manifest_error("{").find("not valid JSON") != std::string::npos);
  CHECK(manifest_error("[]").find("not a JSON object") != std::string::npos);
  CHECK(manifest_error(edited("\"format_version\": 2", "\"format_version\": 3"))
            .find("unsupported format_version 3") != std::string::npos);
  CHECK(manifest_error(edited("\"row_count\": 1440", "\"row_count\": -1")).find("\"row_count\"") !=
        std::string::npos);
  CHECK(manifest_error(edited("\"row_count\": 1440", "\"row_count\": \"1440\"")).find("\"row_count\"") !=
        std::string::npos);
  CHECK(manifest_error(edited("\"row_count\": 1440,", "")).find("missing field \"row_count\"") !=
        std::string::npos);
  CHECK(manifest_error(edited(std::string(64, 'a'), std::string(63, 'a'))).find("\"sha256\"") !=
        std::string::npos);
  CHECK(manifest_error(edited(std::string(64, 'a'), std::string(64, 'A'))).find("\"sha256\"") !=
        std::string::npos);
  CHECK(manifest_error(edited("\"zstd\"", "\"lz4\"")).find("\"compression\"") != std::string::npos);
  CHECK(manifest_error(edited("\"metrics_p20240101.copy.zst\"", "\"../../etc/passwd\""))
            .find("\"data_file\"") != std::string::npos);
  CHECK(manifest_error(edited("\"2024-01-01T00:00:00Z\"", "\"2024-13-01T00:00:00Z\""))
            .find("\"bounds.lower\"") != std::string::npos);
  CHECK(manifest_error(edited("\"not_null\": true", "\"not_null\": 1")).find("\"columns[0].not_null\"") !=
        std::string::npos);
  CHECK(manifest_error(edited("FOR VALUES FROM", "DROP TABLE x; FROM")).find("\"bounds.bound_text\"") !=
        std::string::npos);
  CHECK(manifest_error(edited("\"schema\": \"My Schema\"", "\"schema\": 7")).find("\"table.schema\"") !=
        std::string::npos);
  CHECK(manifest_error("{\"format_version\": 1}").find("missing field \"retentiond_version\"") !=
        std::string::npos);
}

TEST_CASE("archive: manifest timestamps format and parse in exactly one UTC form") {
  const auto t = parse_utc("2024-02-29T23:59:58Z");
  REQUIRE(t);
  CHECK(format_instant(*t) == "2024-02-29T23:59:58Z");
  CHECK(format_instant(std::chrono::sys_seconds{}) == "1970-01-01T00:00:00Z");
  for (const char* bad : {"2023-02-29T00:00:00Z", "2024-01-01 00:00:00Z", "2024-01-01T00:00:00",
                          "2024-01-01T24:00:00Z", "2024-01-01T00:00:00+00", ""}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_utc(bad));
  }
}

TEST_CASE("archive: partition names become file names that are safe and distinct") {
  CHECK(encode_file_name("metrics_p20240101") == "metrics_p20240101");
  CHECK(encode_file_name("My \"Table\"") == "My \"Table\"");
  CHECK(encode_file_name("a/b") == "a%2Fb");
  CHECK(encode_file_name("a%2Fb") == "a%252Fb");
  CHECK(encode_file_name(".hidden") == "%2Ehidden");
  CHECK(encode_file_name("..") == "%2E.");
  CHECK(encode_file_name("a.b") == "a.b");
  CHECK(encode_file_name("line\nbreak") == "line%0Abreak");

  const auto paths = archive_paths("/repo", QualifiedName{"public", "metrics"},
                                   QualifiedName{"public", "m/1"}, Compression::zstd);
  CHECK(paths.directory == fs::path("/repo/public/metrics"));
  CHECK(paths.data == fs::path("/repo/public/metrics/m%2F1.copy.zst"));
  CHECK(paths.manifest == fs::path("/repo/public/metrics/m%2F1.manifest.json"));
  CHECK(archive_paths("/repo", QualifiedName{"s", "t"}, QualifiedName{"s", "p"}, Compression::none).data ==
        fs::path("/repo/s/t/p.copy"));
}
