// What the configuration loader's layers (config.cpp, config_file.cpp, config_environment.cpp)
// share: key names resolved against the table and the Resolver they apply values to. Private to
// src/config.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "retentiond/config/config.hpp"
#include "retentiond/config/config_keys.hpp"
#include "retentiond/core/error.hpp"

namespace retentiond::config_internal {

// Where a value came from: `location` prefixes error messages (`retentiond.yaml:7`,
// `environment RETENTIOND_LOG_LEVEL`, `command line`), `source` is what `config print` shows.
struct Origin {
  std::string location;
  std::string source;
};

inline const Origin kDefaultOrigin{"built-in default", "default"};
inline const Origin kCommandLineOrigin{"command line", "command line"};

// Keys, values and paths come from the file: quoted and escaped like every input in a message.
inline std::string in_quotes(std::string_view text) { return quote_input(text); }

// A key name resolved against the table: which key, and the repository name for keys under
// `snapshot.repositories.<NAME>` (empty otherwise).
struct KeyMatch {
  const ConfigKey* key = nullptr;
  std::string instance;
};

/// The key `name` (dotted, with a repository name for `<NAME>`) stands for, if any.
[[nodiscard]] std::optional<KeyMatch> match_key(std::string_view name);
// True when `name` is a section that holds keys (`database`, `snapshot.repositories.cold`).
// `instance` receives the repository name when the section path contains one.
[[nodiscard]] bool is_section(std::string_view name, std::string& instance);
[[nodiscard]] std::string unknown_key_message(std::string_view name);
[[nodiscard]] std::string invalid_instance_message(std::string_view name);

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

/// The file layer: `-c FILE`, else the file RETENTIOND_CONFIG names, else the default file if
/// it exists.
void apply_file(Resolver& resolver, const ConfigSources& sources);
/// The environment layer: every RETENTIOND_* variable names a key (or is RETENTIOND_CONFIG).
void apply_environment(Resolver& resolver, const ConfigSources& sources);

}  // namespace retentiond::config_internal
