#include <cctype>
#include <string>
#include <string_view>

#include "retentiond/config/config.hpp"

namespace retentiond {
namespace {

constexpr std::string_view kMask = "***";

bool starts_with_ignoring_case(std::string_view text, std::string_view prefix) {
  if (text.size() < prefix.size()) return false;
  for (std::size_t i = 0; i < prefix.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(text[i])) != prefix[i]) return false;
  }
  return true;
}

// `postgresql://user:secret@host/db?password=x`. libpq ends the user info at the first `/`, so
// the `@` is looked for before it; a raw `/` in a password (which libpq itself would misread)
// still must not leak, hence the second look at the last `@` anywhere. Hiding too much of a
// malformed URL is the lesser evil.
std::string redact_uri(std::string_view url, std::size_t authority) {
  std::string out(url);
  std::size_t slash = out.find('/', authority);
  std::size_t at = out.rfind('@', slash == std::string::npos ? std::string::npos : slash);
  if (at == std::string::npos || at < authority) at = out.rfind('@');
  std::size_t query_start = out.find('?', authority);
  if (at != std::string::npos && at >= authority) {
    std::size_t colon = out.find(':', authority);
    if (colon != std::string::npos && colon < at) {
      out.replace(colon + 1, at - colon - 1, kMask);
      query_start = out.find('?', colon + 1 + kMask.size() + 1);
    }
  }
  // `password=` among the query parameters (libpq accepts every conninfo key there).
  for (std::size_t pos = query_start; pos != std::string::npos && pos < out.size();) {
    std::size_t begin = pos + 1;
    std::size_t end = out.find_first_of("&#", begin);
    if (end == std::string::npos) end = out.size();
    std::string_view parameter = std::string_view{out}.substr(begin, end - begin);
    if (parameter.starts_with("password=")) {
      std::size_t value = begin + std::string_view("password=").size();
      out.replace(value, end - value, kMask);
      end = value + kMask.size();
    }
    if (end >= out.size() || out[end] == '#') break;
    pos = end;
  }
  return out;
}

bool is_space(char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// `host=db password='a b' user=x`: the value of every `password` keyword is replaced, quoted or
// not, backslash escapes honoured as libpq does; everything else is kept byte for byte.
std::string redact_conninfo(std::string_view text) {
  std::string out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    if (is_space(text[pos])) {
      out += text[pos++];
      continue;
    }
    std::size_t key_start = pos;
    while (pos < text.size() && text[pos] != '=' && !is_space(text[pos])) ++pos;
    std::string_view keyword = text.substr(key_start, pos - key_start);
    std::size_t after_key = pos;
    while (pos < text.size() && is_space(text[pos])) ++pos;
    if (pos >= text.size() || text[pos] != '=') {
      // Not `key=value`: copy the word and go on; libpq will reject the string anyway.
      out.append(text.substr(key_start, after_key - key_start));
      pos = after_key;
      continue;
    }
    ++pos;  // '='
    while (pos < text.size() && is_space(text[pos])) ++pos;
    std::size_t value_start = pos;
    if (pos < text.size() && text[pos] == '\'') {
      ++pos;
      while (pos < text.size() && text[pos] != '\'') pos += text[pos] == '\\' ? 2 : 1;
      pos = pos < text.size() ? pos + 1 : text.size();  // an unterminated quote runs to the end
    } else {
      while (pos < text.size() && !is_space(text[pos])) pos += text[pos] == '\\' ? 2 : 1;
      if (pos > text.size()) pos = text.size();
    }
    out.append(text.substr(key_start, value_start - key_start));
    if (keyword == "password") {
      out += kMask;
    } else {
      out.append(text.substr(value_start, pos - value_start));
    }
  }
  return out;
}

}  // namespace

std::string redact_url(std::string_view url) {
  for (std::string_view scheme : {std::string_view("postgresql://"), std::string_view("postgres://")}) {
    if (starts_with_ignoring_case(url, scheme)) return redact_uri(url, scheme.size());
  }
  return redact_conninfo(url);
}

}  // namespace retentiond
