#include <iostream>

#include <nlohmann/json.hpp>

#include "retentiond/cli/add_policy.hpp"
#include "retentiond/cli/command_line.hpp"
#include "retentiond/cli/commands.hpp"
#include "retentiond/cli/policy_fields.hpp"
#include "retentiond/cli/policy_output.hpp"
#include "retentiond/cli/tag_selector.hpp"
#include "retentiond/db/policy_store.hpp"

namespace po = boost::program_options;

namespace retentiond {
namespace {

struct Subcommand {
  std::string_view name;
  std::string_view usage;
  std::string_view description;
  ExitCode (*run)(Context& context, const std::vector<std::string>& args, bool help);
};

PolicyStore open_store(Context& context, std::unique_ptr<pqxx::connection>& connection) {
  connection = context.open_database();
  return PolicyStore(*connection, context.config);
}

// Prints a one-line outcome per policy for people, or one JSON document for programs.
void report(Context& context, std::string_view verb, const std::vector<std::string>& changed,
            const std::vector<std::string>& unchanged) {
  if (context.output == OutputFormat::json) {
    std::cout << nlohmann::ordered_json{{std::string(verb), changed}, {"unchanged", unchanged}}.dump() << "\n";
    return;
  }
  if (context.quiet) return;
  for (const auto& id : changed) std::cout << verb << " policy " << id << "\n";
  for (const auto& id : unchanged) std::cout << "policy " << id << " unchanged\n";
}

// Says on stderr that a selector matched nothing, so that a typo in --tags is not mistaken for
// success; the command then exits 0 having changed nothing.
void report_no_match(const Context& context, const std::vector<std::string>& tags, std::string_view consequence) {
  if (context.quiet) return;
  std::cerr << no_tag_match_message("policy", tags, consequence) << "\n";
}

// IDs given as arguments, or the policies carrying all of --tags; never both, never neither.
// `tags` is already parsed (parse_tag_selector), so a bad selector fails before connecting.
std::vector<std::string> select_ids(Context& context, PolicyStore& store, const std::vector<std::string>& ids,
                                    const std::optional<std::vector<std::string>>& tags) {
  if (!tags) {
    std::vector<std::string> unique = ids;
    std::sort(unique.begin(), unique.end());
    unique.erase(std::unique(unique.begin(), unique.end()), unique.end());
    return unique;
  }
  std::vector<std::string> selected;
  for (const auto& policy : store.list(*tags)) selected.push_back(policy.id);
  if (selected.empty()) report_no_match(context, *tags, "; nothing changed");
  return selected;
}

ExitCode run_add(Context& context, const std::vector<std::string>& args, bool help) {
  PolicyFields fields;
  auto options = policy_field_options(fields, /*with_table=*/true);
  if (help) {
    std::cout << command_help("policy add --table SCHEMA.TABLE --strategy S --ttl DURATION [options]",
                              "Adds a retention policy.", options);
    return ExitCode::ok;
  }
  (void)parse_command_line(args, options, {});
  for (auto [given, name] : {std::pair{fields.table.has_value(), "--table"}, {fields.strategy.has_value(), "--strategy"},
                             {fields.ttl.has_value(), "--ttl"}}) {
    if (!given) throw usage_error(std::string("policy add needs ") + name);
  }
  return add_policy(context, apply_policy_fields(Policy{}, fields));
}

ExitCode run_list(Context& context, const std::vector<std::string>& args, bool help) {
  std::optional<std::string> tags;
  po::options_description options("Options");
  options.add_options()("tags", po::value<std::string>()->value_name("a,b")->notifier([&](const std::string& v) { tags = v; }),
                        "only policies carrying all these tags");
  if (help) {
    std::cout << command_help("policy list [--tags a,b]", "Lists retention policies, ordered by id.", options);
    return ExitCode::ok;
  }
  (void)parse_command_line(args, options, {});
  const auto wanted = tags ? parse_tag_selector(*tags) : std::vector<std::string>{};
  std::unique_ptr<pqxx::connection> connection;
  auto store = open_store(context, connection);
  const auto policies = store.list(wanted);
  print_policies(std::cout, policies, context.output);
  if (tags && policies.empty()) report_no_match(context, wanted, "");
  return ExitCode::ok;
}

ExitCode run_show(Context& context, const std::vector<std::string>& args, bool help) {
  std::string id;
  po::options_description hidden;
  hidden.add_options()("id", po::value(&id)->required());
  if (help) {
    std::cout << command_help("policy show ID", "Shows one policy with every field.", po::options_description("Options"));
    return ExitCode::ok;
  }
  po::positional_options_description positional;
  positional.add("id", 1);
  (void)parse_command_line(args, hidden, positional);
  std::unique_ptr<pqxx::connection> connection;
  auto store = open_store(context, connection);
  print_policy(std::cout, store.get(id), context.output);
  return ExitCode::ok;
}

ExitCode run_edit(Context& context, const std::vector<std::string>& args, bool help) {
  PolicyFields fields;
  std::string id;
  auto options = policy_field_options(fields, /*with_table=*/true);
  if (help) {
    std::cout << command_help("policy edit ID [options]",
                              "Changes the given fields of a policy; the others keep their values.\n"
                              "An empty value clears an optional field (--schedule \"\"); --option KEY= removes an option.",
                              options);
    return ExitCode::ok;
  }
  po::options_description all;
  all.add(options).add_options()("policy-id", po::value(&id)->required());
  po::positional_options_description positional;
  positional.add("policy-id", 1);
  (void)parse_command_line(args, all, positional);
  if (fields.id && *fields.id != id) throw usage_error("policy ids cannot be changed; add a new policy instead");

  std::unique_ptr<pqxx::connection> connection;
  auto store = open_store(context, connection);
  Policy updated = apply_policy_fields(store.get(id), fields);
  const bool changed = store.update(updated);
  if (context.output != OutputFormat::table) {
    print_policy(std::cout, store.get(id), context.output);
  } else {
    report(context, "updated", changed ? std::vector{id} : std::vector<std::string>{},
           changed ? std::vector<std::string>{} : std::vector{id});
  }
  return ExitCode::ok;
}

// rm, enable and disable share their selection: ids, or --tags.
struct Selection {
  std::vector<std::string> ids;
  std::optional<std::string> tags_text;
  std::optional<std::vector<std::string>> tags;  ///< parsed tags_text
};

po::options_description selection_options(Selection& selection) {
  po::options_description options("Options");
  options.add_options()(
      "tags", po::value<std::string>()->value_name("a,b")->notifier([&](const std::string& v) { selection.tags_text = v; }),
      "every policy carrying all these tags");
  return options;
}

// Everything about the selection is checked here, before any connection: a bad selector
// changes nothing even when it would have matched.
void parse_selection(const std::vector<std::string>& args, Selection& selection, const po::options_description& options,
                     std::string_view command) {
  po::options_description all;
  all.add(options).add_options()("ids", po::value(&selection.ids)->composing());
  po::positional_options_description positional;
  positional.add("ids", -1);
  (void)parse_command_line(args, all, positional);
  if (!selection.ids.empty() && selection.tags_text) throw usage_error("give policy ids or --tags, not both");
  if (selection.ids.empty() && !selection.tags_text) {
    throw usage_error("policy " + std::string(command) + " needs policy ids or --tags");
  }
  if (selection.tags_text) selection.tags = parse_tag_selector(*selection.tags_text);
}

ExitCode run_rm(Context& context, const std::vector<std::string>& args, bool help) {
  Selection selection;
  auto options = selection_options(selection);
  if (help) {
    std::cout << command_help("policy rm ID... | --tags a,b", "Removes policies. Their jobs_log history stays.", options);
    return ExitCode::ok;
  }
  parse_selection(args, selection, options, "rm");
  std::unique_ptr<pqxx::connection> connection;
  auto store = open_store(context, connection);
  const auto ids = select_ids(context, store, selection.ids, selection.tags);
  if (!ids.empty()) store.remove(ids);
  report(context, "removed", ids, {});
  return ExitCode::ok;
}

ExitCode set_enabled(Context& context, const std::vector<std::string>& args, bool help, bool enabled) {
  Selection selection;
  auto options = selection_options(selection);
  const std::string verb = enabled ? "enable" : "disable";
  if (help) {
    std::cout << command_help("policy " + verb + " ID... | --tags a,b",
                              enabled ? "Enables policies." : "Disables policies: the scheduler skips them.", options);
    return ExitCode::ok;
  }
  parse_selection(args, selection, options, verb);
  std::unique_ptr<pqxx::connection> connection;
  auto store = open_store(context, connection);
  std::vector<std::string> changed;
  std::vector<std::string> unchanged;
  for (const auto& id : select_ids(context, store, selection.ids, selection.tags)) {
    (store.set_enabled(id, enabled) ? changed : unchanged).push_back(id);
  }
  report(context, verb + "d", changed, unchanged);
  return ExitCode::ok;
}

ExitCode run_enable(Context& context, const std::vector<std::string>& args, bool help) {
  return set_enabled(context, args, help, true);
}
ExitCode run_disable(Context& context, const std::vector<std::string>& args, bool help) {
  return set_enabled(context, args, help, false);
}

constexpr Subcommand subcommands[] = {
    {"add", "policy add", "add a policy", run_add},
    {"list", "policy list", "list policies (--tags a,b)", run_list},
    {"show", "policy show ID", "show one policy", run_show},
    {"edit", "policy edit ID", "change fields of a policy", run_edit},
    {"rm", "policy rm ID... | --tags a,b", "remove policies", run_rm},
    {"enable", "policy enable ID... | --tags a,b", "enable policies", run_enable},
    {"disable", "policy disable ID... | --tags a,b", "disable policies", run_disable},
};

}  // namespace

ExitCode run_policy_command(Context& context) {
  if (context.args.empty()) {
    if (!context.help) throw usage_error("missing policy action: add, list, show, edit, rm, enable or disable");
    std::cout << "Usage: retentiond policy ACTION [options]\n\nActions:\n";
    for (const auto& sub : subcommands) {
      std::cout << "  " << sub.usage << std::string(36 - sub.usage.size(), ' ') << sub.description << "\n";
    }
    return ExitCode::ok;
  }
  const std::string action = context.args.front();
  const std::vector<std::string> rest(context.args.begin() + 1, context.args.end());
  for (const auto& sub : subcommands) {
    if (sub.name == action) return sub.run(context, rest, context.help);
  }
  throw usage_error("unknown policy action \"" + action + "\"; expected add, list, show, edit, rm, enable or disable");
}

}  // namespace retentiond
