// The WebSocket wire codec (src/realtime/websocket.*): the RFC 6455 examples, server frame
// headers at each length boundary, and the client frame reader fed whole, byte by byte, with
// fragments and control frames interleaved, and every protocol violation it must refuse.
#include <gtest/gtest.h>

#include "realtime/websocket.h"

namespace lms::realtime::ws {
namespace {

// A client frame: masked with `mask`, FIN unless `final` is false.
std::string client_frame(std::uint8_t opcode, std::string_view payload, bool final = true,
                         std::string_view mask = "\x37\xfa\x21\x3d") {
  std::string out;
  out.push_back(static_cast<char>((final ? 0x80 : 0) | opcode));
  if (payload.size() < 126) {
    out.push_back(static_cast<char>(0x80 | payload.size()));
  } else if (payload.size() <= 0xffff) {
    out.push_back(static_cast<char>(0x80 | 126));
    out.push_back(static_cast<char>(payload.size() >> 8));
    out.push_back(static_cast<char>(payload.size() & 0xff));
  } else {
    out.push_back(static_cast<char>(0x80 | 127));
    for (int shift = 56; shift >= 0; shift -= 8) out.push_back(static_cast<char>((payload.size() >> shift) & 0xff));
  }
  out += mask;
  for (std::size_t i = 0; i < payload.size(); ++i) out.push_back(static_cast<char>(payload[i] ^ mask[i % 4]));
  return out;
}

// Feeds `bytes` in pieces of `step` bytes; returns the messages as "opcode:payload" and
// "error:code" for a refusal.
std::vector<std::string> read_all(Reader& reader, const std::string& bytes, std::size_t step) {
  std::vector<std::string> out;
  for (std::size_t at = 0; at < bytes.size(); at += step) {
    std::string_view piece(bytes.data() + at, std::min(step, bytes.size() - at));
    while (!piece.empty()) {
      auto result = reader.feed(piece);
      if (result == Reader::Result::error) {
        out.push_back("error:" + std::to_string(reader.close_code()));
        return out;
      }
      if (result == Reader::Result::message)
        out.push_back(std::to_string(static_cast<int>(reader.opcode())) + ":" + reader.payload());
    }
  }
  return out;
}

TEST(WebSocketWire, AcceptKeyOfTheRfcExample) {
  EXPECT_EQ(accept_key("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

TEST(WebSocketWire, ServerFrameHeadersAtEachLengthBoundary) {
  EXPECT_EQ(frame_header(Opcode::text, 0), std::string("\x81\x00", 2));
  EXPECT_EQ(frame_header(Opcode::text, 125), std::string("\x81\x7d"));
  EXPECT_EQ(frame_header(Opcode::text, 126), std::string("\x81\x7e\x00\x7e", 4));
  EXPECT_EQ(frame_header(Opcode::text, 65535), std::string("\x81\x7e\xff\xff"));
  EXPECT_EQ(frame_header(Opcode::text, 65536), std::string("\x81\x7f\x00\x00\x00\x00\x00\x01\x00\x00", 10));
  EXPECT_EQ(frame(Opcode::text, "Hello"), std::string("\x81\x05Hello"));
  EXPECT_EQ(close_frame(1000), std::string("\x88\x02\x03\xe8"));
}

TEST(WebSocketWire, ReadsTheRfcMaskedHelloWholeAndByteByByte) {
  const std::string hello("\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58", 11);
  for (std::size_t step : {hello.size(), std::size_t{1}, std::size_t{3}}) {
    Reader reader(1024);
    EXPECT_EQ(read_all(reader, hello, step), std::vector<std::string>{"1:Hello"}) << step;
    EXPECT_EQ(reader.buffered(), 0u);
  }
}

TEST(WebSocketWire, AssemblesFragmentsAroundControlFrames) {
  std::string bytes = client_frame(1, "Hel", false) + client_frame(9, "are you there") + client_frame(0, "lo", false) +
                      client_frame(0, "!", true) + client_frame(1, "second") + client_frame(8, "\x03\xe8");
  for (std::size_t step : {bytes.size(), std::size_t{1}, std::size_t{5}}) {
    Reader reader(1024);
    EXPECT_EQ(read_all(reader, bytes, step),
              (std::vector<std::string>{"9:are you there", "1:Hello!", "1:second", std::string("8:\x03\xe8")}))
        << step;
  }
}

TEST(WebSocketWire, ReadsLongAndEmptyFrames) {
  const std::string medium(300, 'm'), large(70'000, 'L');
  Reader reader(100'000);
  EXPECT_EQ(read_all(reader, client_frame(1, medium) + client_frame(1, "") + client_frame(2, large), 4096),
            (std::vector<std::string>{"1:" + medium, "1:", "2:" + large}));
}

TEST(WebSocketWire, RefusesWhatTheProtocolForbids) {
  auto refused = [](const std::string& bytes, std::size_t limit = 1024) {
    Reader reader(limit);
    auto out = read_all(reader, bytes, bytes.size());
    return out.empty() ? std::string("accepted") : out.back();
  };
  EXPECT_EQ(refused(std::string("\x81\x05Hello")), "error:1002");                 // not masked
  EXPECT_EQ(refused(std::string(1, '\xc1') + client_frame(1, "x").substr(1)), "error:1002");  // RSV1
  EXPECT_EQ(refused(client_frame(3, "x")), "error:1002");                          // unknown opcode
  EXPECT_EQ(refused(client_frame(0, "x")), "error:1002");                          // stray continuation
  EXPECT_EQ(refused(client_frame(9, "x", false)), "error:1002");                   // fragmented ping
  EXPECT_EQ(refused(client_frame(9, std::string(126, 'p'))), "error:1002");        // long ping
  EXPECT_EQ(refused(client_frame(1, "a", false) + client_frame(1, "b")), "error:1002");  // message in message
  EXPECT_EQ(refused(client_frame(1, std::string(1025, 'x'))), "error:1009");       // over the limit
  EXPECT_EQ(refused(client_frame(1, std::string(600, 'x'), false) + client_frame(0, std::string(600, 'y'))),
            "error:1009");                                                         // fragments over it
  std::string huge("\x81\xff\x80\x00\x00\x00\x00\x00\x00\x01mask", 14);
  EXPECT_EQ(refused(huge), "error:1002");                                          // 64-bit length MSB
}

}  // namespace
}  // namespace lms::realtime::ws
