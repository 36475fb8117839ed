// libFuzzer target: messages on the Redis event bus. Whatever another instance (or anything
// else with access to the channel) publishes must decode to an event or be refused, never
// crash; a decoded event must encode back to the same message.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "realtime/event_bus.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view message(reinterpret_cast<const char*>(data), size);
  auto decoded = lms::realtime::decode_event(message);
  if (!decoded) return 0;
  if (lms::realtime::encode_event(decoded->event, decoded->origin) != message) {
    // Numbers may have been written with leading zeros or a '+': re-encoding normalizes
    // them, and the normalized form must be a fixed point.
    auto again = lms::realtime::encode_event(decoded->event, decoded->origin);
    auto second = lms::realtime::decode_event(again);
    if (!second || lms::realtime::encode_event(second->event, second->origin) != again) __builtin_trap();
  }
  return 0;
}
