#include "retentiond/config/config.hpp"

#include <unistd.h>

#include <charconv>
#include <system_error>

#include <yaml-cpp/yaml.h>

#include "retentiond/config/bounded_file.hpp"
#include "retentiond/config/config_keys.hpp"
#include "retentiond/core/error.hpp"

namespace retentiond {
namespace {

// Where a value came from: `location` prefixes error messages (`retentiond.yaml:7`,
// `environment RETENTIOND_LOG_LEVEL`, `command line`), `source` is what `config print` shows.
struct Origin {
  std::string location;
  std::string source;
};

const Origin kDefaultOrigin{"built-in default", "default"};
const Origin kCommandLineOrigin{"command line", "command line"};

// Keys, values and paths come from the file: quoted and escaped like every input in a message.
std::string in_quotes(std::string_view text) { return quote_input(text); }

std::vector<std::string> split_dots(std::string_view name) {
  std::vector<std::string> segments;
  std::size_t start = 0;
  for (;;) {
    std::size_t dot = name.find('.', start);
    segments.emplace_back(name.substr(start, dot - start));
    if (dot == std::string_view::npos) return segments;
    start = dot + 1;
  }
}

// A key name resolved against the table: which key, and the repository name for keys under
// `snapshot.repositories.<NAME>` (empty otherwise).
struct KeyMatch {
  const ConfigKey* key = nullptr;
  std::string instance;
};

// Compares the first `count` segments of `name` with the key's pattern; `<NAME>` matches any one
// segment, which is returned through `instance`.
bool prefix_matches(const ConfigKey& key, const std::vector<std::string>& name, std::size_t count,
                    std::string& instance) {
  std::vector<std::string> pattern = split_dots(key.name);
  if (count > pattern.size() || count > name.size()) return false;
  for (std::size_t i = 0; i < count; ++i) {
    if (pattern[i] == kInstanceSegment) {
      instance = name[i];
    } else if (pattern[i] != name[i]) {
      return false;
    }
  }
  return true;
}

std::optional<KeyMatch> match_key(std::string_view name) {
  std::vector<std::string> segments = split_dots(name);
  for (const ConfigKey& key : config_keys()) {
    std::string instance;
    if (split_dots(key.name).size() == segments.size() &&
        prefix_matches(key, segments, segments.size(), instance)) {
      return KeyMatch{&key, instance};
    }
  }
  return std::nullopt;
}

// True when `name` is a section that holds keys (`database`, `snapshot.repositories.cold`).
// `instance` receives the repository name when the section path contains one.
bool is_section(std::string_view name, std::string& instance) {
  std::vector<std::string> segments = split_dots(name);
  for (const ConfigKey& key : config_keys()) {
    if (split_dots(key.name).size() > segments.size() &&
        prefix_matches(key, segments, segments.size(), instance)) {
      return true;
    }
  }
  return false;
}

std::string unknown_key_message(std::string_view name) {
  std::string message = "unknown key " + in_quotes(name);
  if (std::string suggestion = suggest_key(name); !suggestion.empty()) {
    message += " (did you mean " + in_quotes(suggestion) + "?)";
  }
  return message;
}

std::string invalid_instance_message(std::string_view name) {
  return "snapshot repository name " + in_quotes(name) + " must match [a-z0-9_-]+";
}

// Applies the sources layer by layer (defaults, file, environment, command line), each later
// layer overwriting the earlier ones, and remembers where every key's value came from.
class Resolver {
 public:
  Resolver() {
    for (const ConfigKey& key : config_keys()) {
      if (key.name.find(kInstanceSegment) == std::string_view::npos) {
        store(key, "", key.default_text, kDefaultOrigin);
      }
    }
  }

  void apply(const KeyMatch& match, std::string_view text, const Origin& origin) {
    if (!match.instance.empty()) ensure_repository(match.instance, origin);
    store(*match.key, match.instance, text, origin);
  }

  // A repository exists once any source mentions it; its keys start at their defaults, and
  // `origin` is remembered so that "path is required" can point at where it was declared.
  void ensure_repository(const std::string& name, const Origin& origin) {
    if (!is_valid_instance_name(name))
      throw usage_error(origin.location + ": " + invalid_instance_message(name));
    if (config_.snapshot.repositories.contains(name)) return;
    repository_origins_[name] = origin;
    for (const ConfigKey& key : config_keys()) {
      if (key.name.find(kInstanceSegment) != std::string_view::npos && !key.required) {
        store(key, name, key.default_text, kDefaultOrigin);
      }
    }
    config_.snapshot.repositories[name];  // a repository with only defaults still exists
  }

  // Checks that need every layer applied: required keys, and relations between keys.
  void finish() {
    for (const ConfigKey& key : config_keys()) {
      if (!key.required) continue;
      for (const auto& [name, origin] : repository_origins_) {
        std::string full = instantiate_key_name(key, name);
        if (!origins_.contains(full)) throw usage_error(origin.location + ": " + full + " is required");
      }
    }
    const Config::Retry& retry = config_.retry;
    if (retry.initial.seconds() > retry.max.seconds()) {
      throw usage_error(origins_.at("retry.initial").location + ": retry.initial (" +
                        retry.initial.to_string() + ") must not be greater than retry.max (" +
                        retry.max.to_string() + ")");
    }
  }

  [[nodiscard]] const Config& config() const { return config_; }
  [[nodiscard]] const std::map<std::string, Origin>& origins() const { return origins_; }

 private:
  void store(const ConfigKey& key, const std::string& instance, std::string_view text, const Origin& origin) {
    try {
      store_config_value(key, config_, instance, text);
    } catch (const Error& e) {
      throw usage_error(origin.location + ": " + e.what());
    }
    origins_[instantiate_key_name(key, instance)] = origin;
  }

  Config config_;
  std::map<std::string, Origin> origins_;             // full key name -> where its value came from
  std::map<std::string, Origin> repository_origins_;  // repository name -> where it first appeared
};

// ---- file layer ----------------------------------------------------------------------------

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

// ---- environment and command-line layers ---------------------------------------------------

std::optional<KeyMatch> match_environment(const std::string& variable) {
  for (const ConfigKey& key : config_keys()) {
    std::string pattern = environment_name(key.name);
    std::size_t at = pattern.find(kInstanceSegment);
    if (at == std::string::npos) {
      if (pattern == variable) return KeyMatch{&key, ""};
      continue;
    }
    std::string_view head = std::string_view{pattern}.substr(0, at);
    std::string_view tail = std::string_view{pattern}.substr(at + kInstanceSegment.size());
    std::string_view var = variable;
    if (var.size() > head.size() + tail.size() && var.starts_with(head) && var.ends_with(tail)) {
      std::string_view upper = var.substr(head.size(), var.size() - head.size() - tail.size());
      std::string name;
      for (char c : upper) {
        // Upper-case in the environment (as every variable name), lower-case as a key, so a
        // lower-case letter in the variable can't be a second spelling of the same repository.
        if (c >= 'a' && c <= 'z') return std::nullopt;
        name += static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
      }
      return KeyMatch{&key, name};
    }
  }
  return std::nullopt;
}

void apply_environment(Resolver& resolver, const ConfigSources& sources) {
  constexpr std::string_view kPrefix = "RETENTIOND_";
  for (const auto& [variable, value] : sources.environment) {
    if (!variable.starts_with(kPrefix) || variable == kConfigFileVariable) continue;
    Origin origin{"environment " + variable, "env " + variable};
    auto match = match_environment(variable);
    if (!match) {
      // A mistyped variable silently ignored is the worst kind of 3 a.m. bug: refuse it.
      std::string message = origin.location + ": unknown variable; RETENTIOND_* variables must name a " +
                            "configuration key or be " + std::string(kConfigFileVariable);
      if (std::string suggestion = suggest_environment_name(variable); !suggestion.empty()) {
        message += " (did you mean " + suggestion + "?)";
      }
      throw usage_error(message);
    }
    // Set but empty counts as set: it is how a value from the file is cleared (database.url).
    resolver.apply(*match, value, origin);
  }
}

void apply_overrides(Resolver& resolver, const ConfigSources& sources) {
  for (const auto& [name, value] : sources.overrides) {
    auto match = match_key(name);
    if (!match) throw usage_error(kCommandLineOrigin.location + ": " + unknown_key_message(name));
    resolver.apply(*match, value, kCommandLineOrigin);
  }
}

Resolver resolve(const ConfigSources& sources) {
  // Everything that can go wrong becomes a one-line usage Error (exit 2): a yaml-cpp or
  // standard library exception escaping here would end the process with a stack of noise.
  try {
    Resolver resolver;
    apply_file(resolver, sources);
    apply_environment(resolver, sources);
    apply_overrides(resolver, sources);
    resolver.finish();
    return resolver;
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw usage_error(std::string("configuration: ") + e.what());
  }
}

}  // namespace

Config load_config(const ConfigSources& sources) { return resolve(sources).config(); }

std::vector<ConfigEntry> describe_config(const ConfigSources& sources) {
  Resolver resolver = resolve(sources);
  const Config& config = resolver.config();
  std::vector<ConfigEntry> entries;
  auto keys = config_keys();
  for (std::size_t i = 0; i < keys.size();) {
    // Per-repository keys come as a group in the table; each repository's keys stay together.
    std::size_t end = i;
    while (end < keys.size() && keys[end].name.find(kInstanceSegment) != std::string_view::npos) ++end;
    if (end == i) {
      const ConfigKey& key = keys[i++];
      entries.push_back({std::string(key.name), format_config_value(key, config, ""),
                         resolver.origins().at(std::string(key.name)).source, std::string(key.description)});
      continue;
    }
    for (const auto& [name, repository] : config.snapshot.repositories) {
      for (std::size_t k = i; k < end; ++k) {
        std::string full = instantiate_key_name(keys[k], name);
        entries.push_back({full, format_config_value(keys[k], config, name),
                           resolver.origins().at(full).source, std::string(keys[k].description)});
      }
    }
    i = end;
  }
  return entries;
}

std::map<std::string, std::string> process_environment() {
  std::map<std::string, std::string> out;
  for (char** entry = environ; entry != nullptr && *entry != nullptr; ++entry) {
    std::string_view text = *entry;
    std::size_t eq = text.find('=');
    if (eq == std::string_view::npos || !text.starts_with("RETENTIOND_")) continue;
    out.emplace(text.substr(0, eq), text.substr(eq + 1));
  }
  return out;
}

ListenAddress parse_listen_address(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return usage_error("invalid listen address " + in_quotes(text) + ": " + why);
  };
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) throw fail("expected HOST:PORT");
  std::string_view host = text.substr(0, colon);
  std::string_view port = text.substr(colon + 1);
  if (host.starts_with('[')) {
    if (!host.ends_with(']') || host.size() < 3) throw fail("expected [IPV6]:PORT");
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    throw fail("put an IPv6 address in brackets, e.g. [::1]:9464");
  }
  if (host.empty()) throw fail("empty host (use 0.0.0.0 or [::] to listen on every address)");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value > 65535) {
    throw fail("port must be a number 0-65535");
  }
  return ListenAddress{std::string(host), static_cast<std::uint16_t>(value)};
}

}  // namespace retentiond
