// Wall-clock time as integer milliseconds since the Unix epoch, and its RFC 3339 form
// (`2026-11-26T18:37:48.123Z`), the only timestamp format of the contract.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lms {

using Millis = std::int64_t;

Millis now_ms();
std::string format_rfc3339(Millis ms);
// Appends the same 24 characters to `out` (no allocation when `out` has room).
void append_rfc3339(std::string& out, Millis ms);
// Accepts `YYYY-MM-DDTHH:MM:SS[.fff]` followed by `Z` or `+HH:MM`/`-HH:MM`.
std::optional<Millis> parse_rfc3339(std::string_view text);

}  // namespace lms
