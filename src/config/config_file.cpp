#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <yaml-cpp/yaml.h>

#include "config_internal.hpp"
#include "retentiond/config/bounded_file.hpp"

namespace retentiond::config_internal {
namespace {

// A config file is a few kilobytes; the limit keeps `-c /dev/zero` or a mistaken multi-GB
// file from being read into memory whole.
constexpr std::size_t kConfigFileLimit = std::size_t{1} << 20;

std::string read_file(const std::filesystem::path& path, const std::string& who) {
  return read_bounded_file(path, kConfigFileLimit, who + "cannot read config file").text;
}

class FileLayer {
 public:
  FileLayer(Resolver& resolver, std::string display_path)
      : resolver_(resolver), path_(std::move(display_path)) {}

  void load(const std::string& text) {
    std::vector<YAML::Node> documents;
    try {
      documents = YAML::LoadAll(text);
    } catch (const YAML::Exception& e) {
      // e.what() repeats the position as "yaml-cpp: error at line 4, column 2: "; the
      // message alone, after our own FILE:LINE, keeps the error on one clean line.
      throw usage_error(where(e.mark) + ": invalid YAML: " + e.msg);
    }
    if (documents.empty()) return;  // an empty file (or only comments): all defaults
    if (documents.size() > 1) {
      throw usage_error(where(documents[1].Mark()) + ": expected one YAML document, found " +
                        std::to_string(documents.size()));
    }
    const YAML::Node& root = documents.front();
    if (root.IsNull()) return;
    if (!root.IsMap()) {
      throw usage_error(where(root.Mark()) +
                        ": expected sections such as database: and scheduler: at the top level, got " +
                        kind(root));
    }
    walk(root, "");
  }

 private:
  std::string where(const YAML::Mark& mark) const {
    if (mark.line < 0) return path_;
    return path_ + ":" + std::to_string(mark.line + 1);
  }

  static std::string kind(const YAML::Node& node) {
    if (node.IsSequence()) return "a list";
    if (node.IsMap()) return "a map";
    // Redacted because a misplaced URL (`database: postgresql://u:pw@db/app`) lands here.
    if (node.IsScalar()) return "a value " + in_quotes(redact_url(node.Scalar()));
    return "nothing";
  }

  // yaml-cpp marks an empty value (`url:`) at the next token, often the next line; the key's
  // own line is where the reader looks.
  static YAML::Mark value_mark(const YAML::Node& key, const YAML::Node& value) {
    return value.IsNull() || value.Mark().line < 0 ? key.Mark() : value.Mark();
  }

  static std::string dotted(const std::string& prefix, const std::string& segment) {
    if (prefix.empty()) return segment;
    std::string name = prefix;
    return name.append(".").append(segment);
  }

  void walk(const YAML::Node& map, const std::string& prefix) {
    // Iterating yields pairs by value (a reference into `it->first` would dangle); Node copies
    // are cheap handles.
    for (const auto& pair : map) {
      const YAML::Node key_node = pair.first;
      const YAML::Node value = pair.second;
      std::string line = where(key_node.Mark());
      if (!key_node.IsScalar()) {
        throw usage_error(line + ": expected a key name" +
                          (prefix.empty() ? "" : " under " + in_quotes(prefix)) + ", got " + kind(key_node));
      }
      const std::string& segment = key_node.Scalar();
      const std::string name = dotted(prefix, segment);
      if (segment.empty() || segment.find('.') != std::string::npos) {
        // `database.url: x` at the top level: nesting is the one spelling, so two spellings of
        // one key can't silently disagree.
        throw usage_error(line + ": key " + in_quotes(name) +
                          " must be written nested, one level per section " +
                          "(database:, then url: indented below it)");
      }
      if (auto [seen, inserted] = seen_.emplace(name, line); !inserted) {
        throw usage_error(line + ": duplicate key " + in_quotes(name) + " (first at " + seen->second + ")");
      }

      if (auto match = match_key(name)) {
        std::string value_line = where(value_mark(key_node, value));
        if (!value.IsNull() && !value.IsScalar()) {
          std::string message = value_line;
          message.append(": ").append(name).append(": expected a single value, got ").append(kind(value));
          throw usage_error(message);
        }
        resolver_.apply(*match, value.IsNull() ? std::string_view() : std::string_view{value.Scalar()},
                        Origin{value_line, "file"});
        continue;
      }
      std::string instance;
      if (is_section(name, instance)) {
        if (!value.IsNull() && !value.IsMap()) {
          throw usage_error(where(value_mark(key_node, value)) + ": " + name +
                            ": expected a map of keys, got " + kind(value));
        }
        // A repository name is the last segment of its own section, and is checked there.
        if (!instance.empty() && segment == instance)
          resolver_.ensure_repository(instance, Origin{line, "file"});
        if (value.IsMap()) walk(value, name);
        continue;
      }
      throw usage_error(line + ": " + unknown_key_message(name));
    }
  }

  Resolver& resolver_;
  std::string path_;
  std::map<std::string, std::string> seen_;  // key name -> "FILE:LINE" of its first occurrence
};

}  // namespace

void apply_file(Resolver& resolver, const ConfigSources& sources) {
  std::optional<std::filesystem::path> path = sources.file;
  std::string who;  // who asked for the file, when it wasn't -c, for the error message
  if (!path) {
    if (auto it = sources.environment.find(std::string(kConfigFileVariable));
        it != sources.environment.end() && !it->second.empty()) {
      path = it->second;
      who = "environment " + std::string(kConfigFileVariable) + ": ";
    }
  }
  if (!path) {
    std::error_code ec;
    // The default file is optional, but one that exists and can't be read is an error: running
    // on built-in defaults while /etc says otherwise would be a silent surprise.
    if (!std::filesystem::exists(sources.default_file, ec)) return;
    path = sources.default_file;
  }
  std::string text = read_file(*path, who);
  FileLayer(resolver, path->string()).load(text);
}

}  // namespace retentiond::config_internal
