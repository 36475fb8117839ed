// libFuzzer target: access tokens. Arbitrary bytes in the Authorization header must be
// rejected (or, if they happen to verify, be a token this secret signed), never crash.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "auth/tokens.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const lms::auth::TokenSigner signer(std::string(32, 'k'));
  std::string_view token(reinterpret_cast<const char*>(data), size);
  auto claims = signer.verify(token, 0);
  if (claims && signer.sign(*claims).empty()) __builtin_trap();
  (void)lms::auth::base64url_decode(token);
  return 0;
}
