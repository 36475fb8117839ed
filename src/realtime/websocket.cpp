#include "realtime/websocket.h"

#include <openssl/evp.h>

#include <algorithm>

namespace lms::realtime::ws {

namespace {

constexpr std::string_view kGuid = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

bool is_control(Opcode opcode) { return static_cast<std::uint8_t>(opcode) >= 8; }

bool known(std::uint8_t opcode) { return opcode <= 2 || (opcode >= 8 && opcode <= 10); }

}  // namespace

std::string accept_key(std::string_view client_key) {
  std::string input(client_key);
  input += kGuid;
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(input.data(), input.size(), digest, &length, EVP_sha1(), nullptr);
  unsigned char encoded[4 * ((EVP_MAX_MD_SIZE + 2) / 3) + 1];
  int n = EVP_EncodeBlock(encoded, digest, static_cast<int>(length));
  return std::string(reinterpret_cast<const char*>(encoded), static_cast<std::size_t>(n));
}

std::string frame_header(Opcode opcode, std::size_t payload_size) {
  std::string header;
  header.push_back(static_cast<char>(0x80 | static_cast<std::uint8_t>(opcode)));
  if (payload_size < 126) {
    header.push_back(static_cast<char>(payload_size));
  } else if (payload_size <= 0xffff) {
    header.push_back(static_cast<char>(126));
    header.push_back(static_cast<char>(payload_size >> 8));
    header.push_back(static_cast<char>(payload_size & 0xff));
  } else {
    header.push_back(static_cast<char>(127));
    for (int shift = 56; shift >= 0; shift -= 8)
      header.push_back(static_cast<char>((static_cast<std::uint64_t>(payload_size) >> shift) & 0xff));
  }
  return header;
}

std::string frame(Opcode opcode, std::string_view payload) {
  std::string out = frame_header(opcode, payload.size());
  out += payload;
  return out;
}

std::string close_payload(std::uint16_t code) {
  return std::string{static_cast<char>(code >> 8), static_cast<char>(code & 0xff)};
}

std::string close_frame(std::uint16_t code) { return frame(Opcode::close, close_payload(code)); }

Reader::Result Reader::fail(const char* why, std::uint16_t code) {
  error_ = why;
  close_code_ = code;
  return Result::error;
}

Reader::Result Reader::parse_header() {
  const std::uint8_t first = header_[0];
  const std::uint8_t second = header_[1];
  if (first & 0x70) return fail("reserved bits set (no extension was agreed)", 1002);
  if (!known(first & 0x0f)) return fail("unknown opcode", 1002);
  if (!(second & 0x80)) return fail("client frame not masked", 1002);
  fin_ = (first & 0x80) != 0;
  frame_opcode_ = static_cast<Opcode>(first & 0x0f);
  std::uint64_t length = second & 0x7f;
  std::size_t at = 2;
  if (length == 126) {
    length = (std::uint64_t{header_[2]} << 8) | header_[3];
    at = 4;
  } else if (length == 127) {
    length = 0;
    for (std::size_t i = 2; i < 10; ++i) length = (length << 8) | header_[i];
    if (length >> 63) return fail("frame length out of range", 1002);
    at = 10;
  }
  std::copy(header_ + at, header_ + at + 4, mask_);
  mask_at_ = 0;
  if (is_control(frame_opcode_)) {
    if (!fin_) return fail("fragmented control frame", 1002);
    if (length > 125) return fail("control frame longer than 125 bytes", 1002);
  } else if (frame_opcode_ == Opcode::continuation) {
    if (!in_message_) return fail("continuation without a message", 1002);
  } else {
    if (in_message_) return fail("new message inside a fragmented one", 1002);
    in_message_ = true;
    message_opcode_ = frame_opcode_;
  }
  if (!is_control(frame_opcode_) && message_.size() + length > max_message_)
    return fail("message larger than the limit", 1009);
  remaining_ = length;
  in_frame_ = true;
  return Result::more;
}

Reader::Result Reader::feed(std::string_view& input) {
  for (;;) {
    if (!in_frame_) {
      // The header: 2 bytes, then as many more as the length field and the mask need.
      while (header_used_ < 2 && !input.empty()) {
        header_[header_used_++] = static_cast<unsigned char>(input.front());
        input.remove_prefix(1);
      }
      if (header_used_ < 2) return Result::more;
      const std::uint8_t length_code = header_[1] & 0x7f;
      const std::size_t needed = 2 + (length_code == 126 ? 2 : length_code == 127 ? 8 : 0) + 4;
      // A header without the mask bit is refused before waiting for a mask that never comes.
      if (!(header_[1] & 0x80)) return fail("client frame not masked", 1002);
      const std::size_t take = std::min(needed - header_used_, input.size());
      std::copy(input.begin(), input.begin() + static_cast<std::ptrdiff_t>(take), header_ + header_used_);
      header_used_ += take;
      input.remove_prefix(take);
      if (header_used_ < needed) return Result::more;
      if (parse_header() == Result::error) return Result::error;
    }
    std::string& sink = is_control(frame_opcode_) ? frame_ : message_;
    const std::size_t take = static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, input.size()));
    const std::size_t from = sink.size();
    sink.resize(from + take);
    for (std::size_t i = 0; i < take; ++i)
      sink[from + i] = static_cast<char>(static_cast<unsigned char>(input[i]) ^ mask_[(mask_at_ + i) & 3]);
    mask_at_ += take;
    remaining_ -= take;
    input.remove_prefix(take);
    if (remaining_ > 0) return Result::more;

    in_frame_ = false;
    header_used_ = 0;
    if (is_control(frame_opcode_)) {
      done_opcode_ = frame_opcode_;
      done_payload_.swap(frame_);
      frame_.clear();
      return Result::message;
    }
    if (fin_) {
      done_opcode_ = message_opcode_;
      done_payload_.swap(message_);
      message_.clear();
      message_.shrink_to_fit();  // an idle connection holds no message buffer
      in_message_ = false;
      return Result::message;
    }
  }
}

}  // namespace lms::realtime::ws
