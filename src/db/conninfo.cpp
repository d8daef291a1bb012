#include "retentiond/db/conninfo.hpp"

#include <map>
#include <memory>

#include <libpq-fe.h>

#include "retentiond/config/bounded_file.hpp"
#include "retentiond/core/error.hpp"
#include "retentiond/db/connection.hpp"

namespace retentiond {
namespace {

constexpr std::size_t kPasswordFileLimit = 4096;

struct OptionsDeleter {
  void operator()(PQconninfoOption* options) const { PQconninfoFree(options); }
};
using Options = std::unique_ptr<PQconninfoOption, OptionsDeleter>;

// libpq's key=value quoting: single quotes, with `\` and `'` escaped by a backslash.
void append_option(std::string& out, const std::string& keyword, const std::string& value) {
  if (!out.empty()) out += ' ';
  out += keyword;
  out += "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
}

bool libpq_knows(const char* keyword) {
  static const std::map<std::string, bool> known = [] {
    std::map<std::string, bool> names;
    Options defaults(PQconndefaults());
    for (const PQconninfoOption* o = defaults.get(); o != nullptr && o->keyword != nullptr; ++o)
      names.emplace(o->keyword, true);
    return names;
  }();
  return known.contains(keyword);
}

}  // namespace

std::string scrub_password(std::string message, const std::string& password) {
  if (password.empty()) return message;
  for (auto at = message.find(password); at != std::string::npos; at = message.find(password, at + 3))
    message.replace(at, password.size(), "***");
  return message;
}

std::string effective_conninfo(const std::string& url, const std::optional<std::string>& password) {
  char* error = nullptr;
  Options parsed(PQconninfoParse(url.c_str(), &error));
  if (!parsed) {
    std::string why = error != nullptr ? first_line(error) : "out of memory";
    PQfreemem(error);
    // A URL libpq cannot even parse is a configuration error (exit 2), not an outage.
    throw usage_error("invalid database.url " + quote_input(redact_url(url)) + ": " + scrub_secret(why, url));
  }
  // Only the options the URL itself sets are non-null: defaults and PG* variables are applied
  // by libpq when it connects, after this.
  std::map<std::string, std::string> options;
  std::string out;
  for (const PQconninfoOption* o = parsed.get(); o->keyword != nullptr; ++o) {
    if (o->val == nullptr) continue;
    options.emplace(o->keyword, o->val);
    append_option(out, o->keyword, o->val);
  }
  const std::pair<const char*, const char*> keepalives[] = {
      {"keepalives", KeepaliveDefaults::keepalives},
      {"keepalives_idle", KeepaliveDefaults::idle_seconds},
      {"keepalives_interval", KeepaliveDefaults::interval_seconds},
      {"keepalives_count", KeepaliveDefaults::count},
      {"tcp_user_timeout", KeepaliveDefaults::tcp_user_timeout_ms},
  };
  for (const auto& [keyword, value] : keepalives) {
    if (!options.contains(keyword) && libpq_knows(keyword)) append_option(out, keyword, value);
  }
  if (password) {
    // Two sources of one secret would leave the reader guessing which one is used.
    if (options.contains("password")) {
      throw usage_error("database.url holds a password and database.password_file is set: keep only one");
    }
    append_option(out, "password", *password);
  }
  return out;
}

std::string read_password_file(const std::filesystem::path& path) {
  const std::string what = "cannot read database.password_file";
  BoundedFile file = read_bounded_file(path, kPasswordFileLimit, what);
  auto fail = [&](const std::string& why) {
    return usage_error(what + " " + quote_input(path.string()) + ": " + why);
  };
  if ((file.permissions & 077) != 0) {
    throw fail("it is accessible by group or others; make it readable by its owner only (chmod 600)");
  }
  std::string& text = file.text;
  if (text.ends_with('\n')) text.pop_back();
  if (text.ends_with('\r')) text.pop_back();
  if (text.find_first_of("\r\n") != std::string::npos) throw fail("it holds more than one line");
  if (text.find('\0') != std::string::npos) throw fail("it holds a NUL byte");
  if (text.empty()) throw fail("it is empty");
  return text;
}

ConnectionString connection_string(const Config::Database& database) {
  std::optional<std::string> password;
  if (!database.password_file.empty()) password = read_password_file(database.password_file);
  std::string conninfo = effective_conninfo(database.url, password);
  return {std::move(conninfo), password.value_or("")};
}

}  // namespace retentiond
