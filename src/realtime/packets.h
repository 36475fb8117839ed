// Wire codecs of the real-time endpoint: Engine.IO protocol 4 packets (the transport layer:
// open, close, ping, pong, message, upgrade, noop; HTTP long-polling payloads joined by the
// record separator) and Socket.IO protocol 5 packets carried in Engine.IO messages
// (CONNECT, DISCONNECT, EVENT, ACK, CONNECT_ERROR). Pure functions: no I/O, no state.
// Binary packets (Socket.IO types 5 and 6, Engine.IO base64 "b" packets) are not part of
// the lms contract and decode as malformed.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace lms::realtime {

enum class EioType : char { open = '0', close = '1', ping = '2', pong = '3', message = '4', upgrade = '5', noop = '6' };

struct EioPacket {
  EioType type;
  std::string_view data;  // a view into the decoded text
};

// One Engine.IO packet from a WebSocket text frame or a polling record; nullopt if malformed.
std::optional<EioPacket> decode_eio(std::string_view text);
// Splits a long-polling body on the record separator (0x1E) and decodes each packet;
// nullopt if any packet is malformed or the body is empty.
std::optional<std::vector<EioPacket>> decode_eio_payload(std::string_view body);
inline constexpr char kRecordSeparator = '\x1e';

enum class SioType : char {
  connect = '0', disconnect = '1', event = '2', ack = '3', connect_error = '4',
  binary_event = '5', binary_ack = '6'
};

struct SioPacket {
  SioType type;
  std::string nsp = "/";
  std::optional<std::uint64_t> ack_id;
  std::string_view data;  // JSON text (validated), empty when absent
};

// A Socket.IO packet from the data of an Engine.IO message; nullopt if malformed:
// unknown type, binary attachments, a bad namespace or ack id, invalid JSON, or a payload
// of the wrong shape for its type (CONNECT: object or nothing; EVENT: array starting with a
// string; ACK: array; DISCONNECT: nothing).
std::optional<SioPacket> decode_sio(std::string_view text);

// Encoders return the Engine.IO packet text, ready for a WebSocket frame or a polling payload.
std::string eio_open(std::string_view sid, bool can_upgrade, std::uint32_t ping_interval_ms,
                     std::uint32_t ping_timeout_ms, std::uint64_t max_payload);
// Engine.IO message carrying a Socket.IO packet on the default namespace.
std::string sio_connect_ok(std::string_view sid);
std::string sio_connect_error(std::string_view nsp, std::string_view message);
std::string sio_disconnect();
// `args_json` is the JSON text of the event's payload (one argument).
std::string sio_event(std::string_view name, std::string_view payload_json);
// `args_array_json` is a JSON array of the acknowledgement's arguments.
std::string sio_ack(std::string_view nsp, std::uint64_t id, std::string_view args_array_json);

// The arguments of an EVENT after its name, as a JSON array ("[]" when none).
std::string event_arguments(std::string_view event_array_json);
// The name of an EVENT (its first element); empty if the data is not a valid event.
std::string event_name(std::string_view event_array_json);

}  // namespace lms::realtime
