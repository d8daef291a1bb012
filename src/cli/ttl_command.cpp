#include <iostream>

#include "retentiond/cli/add_policy.hpp"
#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/cli/policy_fields.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

// `public."a:b":ts` → {`public."a:b"`, `ts`}: the separator is the last colon outside quotes.
std::pair<std::string, std::optional<std::string>> split_outside_quotes(const std::string& text) {
  bool quoted = false;
  std::size_t at = std::string::npos;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '"') quoted = !quoted;
    if (text[i] == ':' && !quoted) at = i;
  }
  if (at == std::string::npos) return {text, std::nullopt};
  return {text.substr(0, at), text.substr(at + 1)};
}

}  // namespace

ExitCode run_ttl_command(Context& context) {
  PolicyFields fields;
  std::vector<std::string> positionals;
  auto options = policy_field_options(fields, /*with_table=*/false);
  if (context.help) {
    std::cout << command_help("ttl TABLE[:PARTITION_COLUMN] STRATEGY[:TARGET] DURATION [options]",
                              "Shortcut for `policy add`, e.g.\n"
                              "  retentiond ttl public.metrics delete 90d\n"
                              "  retentiond ttl public.metrics snapshot:cold 365d --tags tenant-a\n"
                              "  retentiond ttl public.events:created_at delete 30d --option batch_size=5000",
                              options);
    return ExitCode::ok;
  }
  po::options_description all;
  all.add(options).add_options()("words", po::value(&positionals)->composing());
  po::positional_options_description positional;
  positional.add("words", 3);
  (void)parse_command_line(context.args, all, positional);
  if (positionals.size() != 3) throw usage_error("ttl needs TABLE[:COLUMN] STRATEGY[:TARGET] DURATION");

  auto [table, column] = split_outside_quotes(positionals[0]);
  fields.table = table;
  if (column) fields.partition_column = *column;
  if (column && column->empty()) throw usage_error("empty partition column in \"" + positionals[0] + "\"");
  const auto colon = positionals[1].find(':');
  fields.strategy = positionals[1].substr(0, colon);
  if (colon != std::string::npos) {
    fields.target = positionals[1].substr(colon + 1);
    if (fields.target->empty()) throw usage_error("empty target in \"" + positionals[1] + "\"");
  }
  fields.ttl = positionals[2];

  return add_policy(context, apply_policy_fields(Policy{}, fields));
}

}  // namespace retentiond
