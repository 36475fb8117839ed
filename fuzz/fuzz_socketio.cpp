// Fuzzes the real-time packet parsers: a polling payload is split into Engine.IO packets, and
// every message is decoded as a Socket.IO packet, as the endpoint does with client input.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "realtime/packets.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto packets = lms::realtime::decode_eio_payload(input);
  if (!packets) {
    (void)lms::realtime::decode_sio(input);
    return 0;
  }
  for (const auto& packet : *packets) {
    if (packet.type != lms::realtime::EioType::message) continue;
    auto sio = lms::realtime::decode_sio(packet.data);
    if (sio && sio->type == lms::realtime::SioType::event) {
      (void)lms::realtime::event_name(sio->data);
      (void)lms::realtime::event_arguments(sio->data);
    }
  }
  return 0;
}
