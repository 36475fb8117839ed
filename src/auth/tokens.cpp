#include "auth/tokens.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/sha.h>
#include <sodium.h>

#include <array>
#include <cstdint>
#include <memory>
#include <stdexcept>

#include "common/json.h"

namespace lms::auth {

namespace {

constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";

std::string to_hex(const unsigned char* data, std::size_t size) {
  std::string hex(size * 2, '\0');
  sodium_bin2hex(hex.data(), hex.size() + 1, data, size);
  return hex;
}

}  // namespace

std::string base64url_encode(std::string_view bytes) {
  std::size_t max = sodium_base64_encoded_len(bytes.size(), sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  std::string out(max, '\0');
  sodium_bin2base64(out.data(), max, reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size(),
                    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
  out.resize(max - 1);
  return out;
}

std::optional<std::string> base64url_decode(std::string_view text) {
  // Table-driven: libsodium's constant-time decoder is ~10x slower, and tokens are not
  // secret from their holder. Canonical form only: no padding, no stray trailing bits.
  static constexpr auto table = [] {
    std::array<std::int8_t, 256> t{};
    t.fill(-1);
    const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    for (int i = 0; i < 64; ++i) t[static_cast<unsigned char>(alphabet[i])] = static_cast<std::int8_t>(i);
    return t;
  }();
  if (text.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(text.size() * 3 / 4);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : text) {
    auto v = table[static_cast<unsigned char>(c)];
    if (v < 0) return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if (bits > 0 && (acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

struct TokenSigner::MacTemplate {
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* keyed = nullptr;
};

TokenSigner::TokenSigner(std::string secret) : secret_(std::move(secret)), header_b64_(base64url_encode(kHeader)) {
  if (secret_.size() < 32) throw std::invalid_argument("token secret must be at least 32 bytes");
  template_ = new MacTemplate;
  template_->mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
  if (template_->mac) template_->keyed = EVP_MAC_CTX_new(template_->mac);
  char digest[] = "SHA256";
  OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0), OSSL_PARAM_construct_end()};
  if (!template_->keyed ||
      EVP_MAC_init(template_->keyed, reinterpret_cast<const unsigned char*>(secret_.data()), secret_.size(), params) != 1) {
    EVP_MAC_CTX_free(template_->keyed);
    EVP_MAC_free(template_->mac);
    delete template_;
    throw std::runtime_error("OpenSSL HMAC-SHA256 is not available");
  }
}

TokenSigner::~TokenSigner() {
  EVP_MAC_CTX_free(template_->keyed);
  EVP_MAC_free(template_->mac);
  delete template_;
}

std::string TokenSigner::mac(std::string_view data) const {
  std::unique_ptr<EVP_MAC_CTX, decltype(&EVP_MAC_CTX_free)> ctx(EVP_MAC_CTX_dup(template_->keyed), &EVP_MAC_CTX_free);
  unsigned char out[EVP_MAX_MD_SIZE];
  std::size_t len = 0;
  if (!ctx || EVP_MAC_update(ctx.get(), reinterpret_cast<const unsigned char*>(data.data()), data.size()) != 1 ||
      EVP_MAC_final(ctx.get(), out, &len, sizeof out) != 1)
    throw std::runtime_error("HMAC-SHA256 failed");
  return std::string(reinterpret_cast<char*>(out), len);
}

std::string TokenSigner::sign(const AccessClaims& c) const {
  std::string payload = json::build([&](json::Writer& w) {
    w.StartObject();
    json::field(w, "sub", c.user_id);
    json::field(w, "org", c.organization_id);
    json::field(w, "role", accounts::role_name(c.role));
    json::key(w, "iat");
    w.Int64(c.issued_at / 1000);
    json::key(w, "exp");
    w.Int64(c.expires_at / 1000);
    if (!c.session_id.empty()) json::field(w, "sid", c.session_id);
    w.EndObject();
  });
  std::string token = header_b64_ + "." + base64url_encode(payload);
  std::string signature = mac(token);
  token += ".";
  token += base64url_encode(signature);
  return token;
}

std::optional<AccessClaims> TokenSigner::verify(std::string_view token, Millis now) const {
  if (token.size() > 4096) return std::nullopt;
  auto dot1 = token.find('.');
  if (dot1 == std::string_view::npos) return std::nullopt;
  auto dot2 = token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos || token.find('.', dot2 + 1) != std::string_view::npos) return std::nullopt;
  // Only the exact header lms issues is accepted: no `none`, no RS256/HS256 confusion.
  if (token.substr(0, dot1) != header_b64_) return std::nullopt;
  auto signature = base64url_decode(token.substr(dot2 + 1));
  if (!signature || signature->size() != 32) return std::nullopt;
  std::string expected = mac(token.substr(0, dot2));
  if (sodium_memcmp(expected.data(), signature->data(), 32) != 0) return std::nullopt;

  auto payload = base64url_decode(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!payload) return std::nullopt;
  rapidjson::Document doc;
  doc.Parse(payload->data(), payload->size());
  if (doc.HasParseError() || !doc.IsObject()) return std::nullopt;
  auto str = [&](const char* name) -> std::optional<std::string> {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsString()) return std::nullopt;
    return std::string(it->value.GetString(), it->value.GetStringLength());
  };
  auto num = [&](const char* name) -> std::optional<std::int64_t> {
    auto it = doc.FindMember(name);
    if (it == doc.MemberEnd() || !it->value.IsInt64()) return std::nullopt;
    return it->value.GetInt64();
  };
  auto sub = str("sub"), org = str("org"), role = str("role");
  auto iat = num("iat"), exp = num("exp");
  if (!sub || !org || !role || !iat || !exp) return std::nullopt;
  auto parsed_role = accounts::parse_role(*role);
  if (!parsed_role) return std::nullopt;
  if (*exp * 1000 <= now) return std::nullopt;
  return AccessClaims{*sub, *org, *parsed_role, *iat * 1000, *exp * 1000, str("sid").value_or("")};
}

std::string new_refresh_token() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  return base64url_encode(std::string_view(reinterpret_cast<char*>(bytes), sizeof bytes));
}

std::string hash_refresh_token(std::string_view token) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), digest);
  return to_hex(digest, sizeof digest);
}

}  // namespace lms::auth
