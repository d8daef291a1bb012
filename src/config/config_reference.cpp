#include "retentiond/config/config_keys.hpp"

namespace retentiond {
namespace {

std::string markdown_cell(std::string_view text) {
  std::string out;
  for (char c : text) {
    if (c == '|') out += '\\';
    out += c;
  }
  return out;
}

std::string code(std::string_view text) { return "`" + std::string(text) + "`"; }

}  // namespace

std::string render_config_reference_markdown() {
  std::string out =
      "| Key | Type | Default | Environment variable | Description |\n"
      "|---|---|---|---|---|\n";
  for (const ConfigKey& key : config_keys()) {
    std::string default_cell =
        key.required ? "(required)" : code(key.default_text.empty() ? "\"\"" : key.default_text);
    out += "| " + code(key.name) + " | " + markdown_cell(describe_key_type(key)) + " | " +
           markdown_cell(default_cell) + " | " + code(environment_name(key.name)) + " | " +
           markdown_cell(key.description) + " |\n";
  }
  return out;
}

}  // namespace retentiond
