#include "leads/cursor.h"

#include <sodium.h>

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "auth/tokens.h"

namespace lms::leads {

namespace {

constexpr std::size_t kMacBytes = 16;
// Version 2 ends positions with the lead's id (version 1, the engine's row number, is refused:
// a client holding one starts again from the first page).
constexpr unsigned char kVersion = 2;
constexpr std::size_t kMaxId = 64;

void put_u64(std::string& out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}

std::uint64_t get_u64(std::string_view in, std::size_t pos) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < 8; ++i) v = (v << 8) | static_cast<unsigned char>(in[pos + i]);
  return v;
}

}  // namespace

CursorCodec::CursorCodec(std::string_view secret) {
  std::string material = "lms cursor key v1:";
  material += secret;
  crypto_hash_sha256(key_.data(), reinterpret_cast<const unsigned char*>(material.data()), material.size());
}

std::string CursorCodec::mac(std::string_view payload, std::string_view org_id) const {
  crypto_auth_hmacsha256_state state;
  crypto_auth_hmacsha256_init(&state, key_.data(), key_.size());
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(org_id.data()), org_id.size());
  unsigned char separator = 0;
  crypto_auth_hmacsha256_update(&state, &separator, 1);
  crypto_auth_hmacsha256_update(&state, reinterpret_cast<const unsigned char*>(payload.data()), payload.size());
  unsigned char out[crypto_auth_hmacsha256_BYTES];
  crypto_auth_hmacsha256_final(&state, out);
  return std::string(reinterpret_cast<char*>(out), kMacBytes);
}

std::string CursorCodec::encode(const Position& p, std::string_view org_id) const {
  std::string payload;
  payload.push_back(static_cast<char>(kVersion));
  payload.push_back(static_cast<char>(p.sort));
  put_u64(payload, static_cast<std::uint64_t>(p.number));
  const std::size_t id_size = std::min(p.id.size(), kMaxId);
  payload.push_back(static_cast<char>(id_size));
  payload.append(p.id, 0, id_size);
  payload += p.text;
  return auth::base64url_encode(payload + mac(payload, org_id));
}

std::optional<Position> CursorCodec::decode(std::string_view cursor, std::string_view org_id) const {
  if (cursor.empty() || cursor.size() > 2048) return std::nullopt;
  auto raw = auth::base64url_decode(cursor);
  constexpr std::size_t kFixed = 2 + 8 + 1;
  if (!raw || raw->size() < kFixed + kMacBytes) return std::nullopt;
  std::string_view bytes(*raw);
  auto payload = bytes.substr(0, bytes.size() - kMacBytes);
  auto given = bytes.substr(bytes.size() - kMacBytes);
  auto expected = mac(payload, org_id);
  if (sodium_memcmp(expected.data(), given.data(), kMacBytes) != 0) return std::nullopt;
  if (static_cast<unsigned char>(payload[0]) != kVersion) return std::nullopt;
  auto sort = static_cast<unsigned char>(payload[1]);
  if (sort > static_cast<unsigned char>(SortKey::name_asc)) return std::nullopt;
  Position p;
  p.sort = static_cast<SortKey>(sort);
  p.number = static_cast<std::int64_t>(get_u64(payload, 2));
  const auto id_size = static_cast<unsigned char>(payload[10]);
  if (id_size > kMaxId || payload.size() < kFixed + id_size) return std::nullopt;
  p.id = std::string(payload.substr(kFixed, id_size));
  p.text = std::string(payload.substr(kFixed + id_size));
  return p;
}

}  // namespace lms::leads
