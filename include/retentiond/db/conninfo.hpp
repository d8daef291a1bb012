#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "retentiond/config/config.hpp"

namespace retentiond {

/// TCP keepalive settings every connection gets unless its URL sets them: a peer that vanished
/// without a FIN or RST (a dead network, a powered-off host) is noticed after about a minute
/// of silence (30 s idle, then 3 probes 10 s apart; tcp_user_timeout 60 s for unacknowledged
/// writes), instead of the kernel's two hours. libpq ignores them on Unix sockets.
struct KeepaliveDefaults {
  static constexpr const char* keepalives = "1";
  static constexpr const char* idle_seconds = "30";
  static constexpr const char* interval_seconds = "10";
  static constexpr const char* count = "3";
  static constexpr const char* tcp_user_timeout_ms = "60000";
};

/// The conninfo retentiond hands libpq: the options of `url` (URI or key=value, parsed by
/// libpq itself) in key=value form, plus the keepalive defaults for every keepalive option the
/// URL does not set (tcp_user_timeout only where this libpq knows it, PostgreSQL 12+), plus
/// `password` when given. No password option is added otherwise, so libpq's own PGPASSWORD and
/// PGPASSFILE (~/.pgpass) keep working. Throws a database Error naming the redacted URL when
/// libpq cannot parse it, and a usage Error when `password` is given and the URL holds one too.
[[nodiscard]] std::string effective_conninfo(const std::string& url,
                                             const std::optional<std::string>& password);

/// The password held in database.password_file: a regular file of at most 4 KiB, accessible by
/// its owner only (like libpq's ~/.pgpass), its content without the trailing line break. Any
/// problem is a usage Error that names the file and never shows its content.
[[nodiscard]] std::string read_password_file(const std::filesystem::path& path);

/// What connect() passes libpq, and the password from database.password_file (empty without
/// one) so that error messages can be scrubbed of it.
struct ConnectionString {
  std::string conninfo;
  std::string password;
};

/// effective_conninfo() for the configured database, with database.password_file read now
/// (each connect reads it again, so a rotated password needs no restart).
[[nodiscard]] ConnectionString connection_string(const Config::Database& database);

/// `message` with `password` replaced by `***` (when non-empty).
[[nodiscard]] std::string scrub_password(std::string message, const std::string& password);

}  // namespace retentiond
