// libFuzzer target: RFC 3339 timestamps (query filters such as createdFrom): parse what
// parses, and formatting the result must parse back to the same instant.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "common/time.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto ms = lms::parse_rfc3339(std::string_view(reinterpret_cast<const char*>(data), size));
  if (ms && *ms > -62135596800000 && *ms < 253402300800000) {
    auto again = lms::parse_rfc3339(lms::format_rfc3339(*ms));
    if (!again || *again != *ms) __builtin_trap();
  }
  return 0;
}
