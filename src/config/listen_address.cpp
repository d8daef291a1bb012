#include <charconv>
#include <system_error>

#include "retentiond/config/config.hpp"
#include "retentiond/core/error.hpp"

namespace retentiond {

ListenAddress parse_listen_address(std::string_view text) {
  auto fail = [&](const std::string& why) {
    return usage_error("invalid listen address " + quote_input(text) + ": " + why);
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
