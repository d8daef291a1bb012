#include "retentiond/config/config.hpp"

#include "config_internal.hpp"

namespace retentiond::config_internal {
namespace {

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
}  // namespace retentiond::config_internal

namespace retentiond {

using config_internal::resolve;
using config_internal::Resolver;

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

}  // namespace retentiond
