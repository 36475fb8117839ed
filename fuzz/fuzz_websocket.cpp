// libFuzzer target: client WebSocket frames. Whatever a client sends must come out as messages
// or a refusal, never a crash, an over-limit buffer or a hang; and feeding the same bytes in
// one piece or one byte at a time must give the same messages (the reader is incremental).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "realtime/websocket.h"

namespace {

constexpr std::uint64_t kLimit = 4096;

std::vector<std::string> read(std::string_view bytes, std::size_t step) {
  lms::realtime::ws::Reader reader(kLimit);
  std::vector<std::string> out;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    std::string_view piece = bytes.substr(at, step);
    while (!piece.empty()) {
      auto result = reader.feed(piece);
      if (result == lms::realtime::ws::Reader::Result::error) {
        out.push_back("error");
        return out;
      }
      if (reader.buffered() > kLimit + 200) __builtin_trap();
      if (result == lms::realtime::ws::Reader::Result::message) {
        if (reader.payload().size() > kLimit) __builtin_trap();
        out.push_back(std::to_string(static_cast<int>(reader.opcode())) + ":" + reader.payload());
      }
    }
  }
  return out;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view bytes(reinterpret_cast<const char*>(data), size);
  if (read(bytes, bytes.size() + 1) != read(bytes, 1)) __builtin_trap();
  return 0;
}
