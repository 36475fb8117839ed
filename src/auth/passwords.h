// Password hashing with argon2id (libsodium). Hashing is deliberately slow and memory-hard:
// call it only on the hashing pool (see AuthService), never on an I/O thread.
#pragma once

#include <string>
#include <string_view>

namespace lms::auth {

struct PasswordCost {
  unsigned long long ops = 2;                // argon2id passes
  std::size_t memory_bytes = 19u << 20;      // 19 MiB: OWASP's argon2id minimum profile
};

class PasswordHasher {
 public:
  explicit PasswordHasher(PasswordCost cost = {});

  std::string hash(std::string_view password) const;
  bool verify(std::string_view password, const std::string& stored_hash) const;
  // Spends the time of a verification against a dummy hash, so an unknown email answers in
  // about the same time as a wrong password.
  void verify_dummy(std::string_view password) const;

 private:
  PasswordCost cost_;
  std::string dummy_hash_;
};

}  // namespace lms::auth
