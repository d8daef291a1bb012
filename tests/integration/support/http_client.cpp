#include "support/http_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>

namespace retentiond::testing {
namespace {

class Socket {
 public:
  Socket() : fd_(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) {}
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  [[nodiscard]] int fd() const { return fd_; }

 private:
  int fd_;
};

}  // namespace

HttpReply http_get(const std::string& address, const std::string& path,
                   const std::map<std::string, std::string>& headers, std::chrono::milliseconds timeout) {
  HttpReply reply;
  const auto colon = address.rfind(':');
  if (colon == std::string::npos) return reply;
  sockaddr_in where{};
  where.sin_family = AF_INET;
  const std::string port = address.substr(colon + 1);
  if (port.empty() || port.find_first_not_of("0123456789") != std::string::npos || port.size() > 5)
    return reply;
  where.sin_port = htons(static_cast<std::uint16_t>(std::stoi(port)));
  if (::inet_pton(AF_INET, address.substr(0, colon).c_str(), &where.sin_addr) != 1) return reply;
  Socket socket;
  if (socket.fd() < 0 || ::connect(socket.fd(), reinterpret_cast<sockaddr*>(&where), sizeof where) != 0) {
    return reply;
  }
  std::string request = "GET " + path + " HTTP/1.1\r\nHost: " + address + "\r\nConnection: close\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  request += "\r\n";
  if (::send(socket.fd(), request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return reply;
  }
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string raw;
  char buffer[16384];
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return reply;
    pollfd p{socket.fd(), POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return reply;
    const ssize_t n = ::recv(socket.fd(), buffer, sizeof buffer, 0);
    if (n < 0) return reply;
    if (n == 0) break;
    raw.append(buffer, static_cast<std::size_t>(n));
  }
  const auto end_of_head = raw.find("\r\n\r\n");
  if (end_of_head == std::string::npos || raw.size() < 12) return reply;
  const std::string code = raw.substr(9, 3);
  if (code.find_first_not_of("0123456789") != std::string::npos) return reply;
  reply.status = std::stoi(code);
  std::size_t line = raw.find("\r\n") + 2;
  while (line < end_of_head) {
    const auto next = raw.find("\r\n", line);
    const std::string header = raw.substr(line, next - line);
    if (const auto sep = header.find(':'); sep != std::string::npos) {
      std::string name = header.substr(0, sep);
      std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
      const auto value = header.find_first_not_of(' ', sep + 1);
      reply.headers[name] = value == std::string::npos ? std::string() : header.substr(value);
    }
    line = next + 2;
  }
  reply.body = raw.substr(end_of_head + 4);
  return reply;
}

}  // namespace retentiond::testing
