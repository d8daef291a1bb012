#pragma once

#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <doctest/doctest.h>

namespace retentiond::testing {

/// A private snapshot repository directory for one test case, removed at the end.
struct Repository {
  std::filesystem::path path;
  Repository() {
    std::string pattern = (std::filesystem::temp_directory_path() / "retentiond-safety-XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    path = pattern;
  }
  ~Repository() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  Repository(const Repository&) = delete;
  Repository& operator=(const Repository&) = delete;

  [[nodiscard]] std::vector<std::filesystem::path> ending(std::string_view suffix) const {
    std::vector<std::filesystem::path> out;
    for (const auto& entry : std::filesystem::recursive_directory_iterator(path)) {
      if (entry.is_regular_file() && entry.path().filename().string().ends_with(suffix))
        out.push_back(entry.path());
    }
    std::sort(out.begin(), out.end());
    return out;
  }
  [[nodiscard]] std::map<std::string, std::string> env() const {
    return {{"RETENTIOND_SNAPSHOT_REPOSITORIES_COLD_PATH", path.string()}};
  }
};

}  // namespace retentiond::testing
