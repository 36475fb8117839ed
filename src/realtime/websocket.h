// The WebSocket wire (RFC 6455) as the real-time endpoint speaks it: the opening handshake's
// accept key, server frames (unmasked, never fragmented, so one frame's bytes serve every
// receiver of a fan-out), and an incremental reader of client frames (masked, possibly
// fragmented, with ping/pong/close control frames between fragments). Pure: no I/O, no state
// beyond the reader's own.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace lms::realtime::ws {

enum class Opcode : std::uint8_t { continuation = 0, text = 1, binary = 2, close = 8, ping = 9, pong = 10 };

// Sec-WebSocket-Accept for a client's Sec-WebSocket-Key: base64(SHA-1(key + the RFC's GUID)).
std::string accept_key(std::string_view client_key);

// The header of a final, unmasked server frame carrying `payload_size` bytes (2 to 10 bytes).
std::string frame_header(Opcode opcode, std::size_t payload_size);
// Header and payload in one string.
std::string frame(Opcode opcode, std::string_view payload);
// A close frame's payload: its status code (1000 normal, 1002 protocol error, 1003 data of a
// type not accepted, 1009 too big), and the whole frame.
std::string close_payload(std::uint16_t code);
std::string close_frame(std::uint16_t code);

// Reads client frames from a byte stream fed in arbitrary pieces. Data frames are assembled
// into messages (at most `max_message` bytes); control frames are returned as they come.
class Reader {
 public:
  enum class Result { more, message, error };

  explicit Reader(std::uint64_t max_message) : max_message_(max_message) {}

  // Consumes bytes of `input` (advancing it) until a message or control frame is complete
  // (`message`: see opcode()/payload(), valid until the next feed), the input is used up
  // (`more`), or the stream breaks the protocol (`error`: see error() and close_code(); the
  // connection must close).
  Result feed(std::string_view& input);

  Opcode opcode() const { return done_opcode_; }
  // The completed payload; move it out (an idle connection then holds no buffer).
  std::string& payload() { return done_payload_; }
  const char* error() const { return error_; }
  std::uint16_t close_code() const { return close_code_; }
  // Bytes held for a message or frame not yet complete (0 when idle).
  std::size_t buffered() const { return message_.size() + frame_.size() + header_used_; }

 private:
  Result fail(const char* why, std::uint16_t code);
  Result parse_header();

  const std::uint64_t max_message_;
  // The header being read (2 to 14 bytes).
  unsigned char header_[14] = {};
  std::size_t header_used_ = 0;
  // The frame whose payload is being read.
  bool in_frame_ = false;
  bool fin_ = false;
  Opcode frame_opcode_ = Opcode::continuation;
  std::uint64_t remaining_ = 0;
  unsigned char mask_[4] = {};
  std::size_t mask_at_ = 0;
  std::string frame_;  // a control frame's payload so far
  // The data message being assembled across fragments.
  bool in_message_ = false;
  Opcode message_opcode_ = Opcode::text;
  std::string message_;
  // The last completed message or control frame.
  Opcode done_opcode_ = Opcode::text;
  std::string done_payload_;
  const char* error_ = "";
  std::uint16_t close_code_ = 1000;
};

}  // namespace lms::realtime::ws
