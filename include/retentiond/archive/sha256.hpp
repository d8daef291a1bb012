#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace retentiond {

/// Incremental SHA-256 (OpenSSL EVP underneath, kept out of this header). Archives record the
/// digest of their bytes as stored, so a restore can prove the file is the one that was written.
class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;
  Sha256(Sha256&&) noexcept;
  Sha256& operator=(Sha256&&) noexcept;

  void update(std::string_view bytes);
  /// Lower-case hex of the digest of everything passed to update(); the object is spent after.
  [[nodiscard]] std::string hex_digest();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// The lower-case hex SHA-256 of `bytes`.
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

}  // namespace retentiond
