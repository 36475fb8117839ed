// Access tokens (HS256 JWT), base64url and refresh-token hashing.
#include <gtest/gtest.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <atomic>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "auth/tokens.h"

namespace lms::auth {
namespace {

const std::string kSecret(32, 'k');           // exactly the minimum length
const std::string kOtherSecret(40, 'z');
constexpr Millis kIssued = 1'700'000'000'000;  // a whole second, so iat/exp round-trip exactly
constexpr Millis kExpires = kIssued + 15 * 60 * 1000;

AccessClaims sample_claims() {
  return AccessClaims{"user-123", "org-456", accounts::Role::manager, kIssued, kExpires};
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()), reinterpret_cast<const unsigned char*>(data.data()),
       data.size(), out, &len);
  return std::string(reinterpret_cast<char*>(out), len);
}

// Builds header.payload.signature with a correct HMAC-SHA256 over the first two parts.
std::string forge(std::string_view header_json, std::string_view payload_json, std::string_view key) {
  std::string signing_input = base64url_encode(header_json) + "." + base64url_encode(payload_json);
  return signing_input + "." + base64url_encode(hmac_sha256(key, signing_input));
}

constexpr std::string_view kGoodHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kGoodPayload =
    R"({"sub":"user-123","org":"org-456","role":"manager","iat":1700000000,"exp":1700000900})";

std::vector<std::string> split(const std::string& token) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  while (true) {
    auto dot = token.find('.', start);
    parts.push_back(token.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return parts;
}

TEST(TokenSigner, SignVerifyRoundTrip) {
  TokenSigner signer(kSecret);
  auto token = signer.sign(sample_claims());
  EXPECT_EQ(split(token).size(), 3u);
  auto claims = signer.verify(token, kIssued + 1000);
  ASSERT_TRUE(claims.has_value());
  EXPECT_EQ(claims->user_id, "user-123");
  EXPECT_EQ(claims->organization_id, "org-456");
  EXPECT_EQ(claims->role, accounts::Role::manager);
  EXPECT_EQ(claims->issued_at, kIssued);
  EXPECT_EQ(claims->expires_at, kExpires);
}

TEST(TokenSigner, RoundTripsEveryRole) {
  TokenSigner signer(kSecret);
  for (auto role : {accounts::Role::admin, accounts::Role::manager, accounts::Role::agent}) {
    auto c = sample_claims();
    c.role = role;
    auto claims = signer.verify(signer.sign(c), kIssued);
    ASSERT_TRUE(claims.has_value());
    EXPECT_EQ(claims->role, role);
  }
}

TEST(TokenSigner, TokenWeForgeWithTheRightKeyVerifies) {
  // Sanity check of the forging helper used below: with the right header and key it is valid.
  TokenSigner signer(kSecret);
  EXPECT_TRUE(signer.verify(forge(kGoodHeader, kGoodPayload, kSecret), kIssued).has_value());
}

TEST(TokenSigner, ExpiredTokenIsRejected) {
  TokenSigner signer(kSecret);
  auto token = signer.sign(sample_claims());
  EXPECT_TRUE(signer.verify(token, kExpires - 1).has_value());
  EXPECT_FALSE(signer.verify(token, kExpires).has_value());  // exp is exclusive
  EXPECT_FALSE(signer.verify(token, kExpires + 1).has_value());
  EXPECT_FALSE(signer.verify(token, kExpires + 24LL * 3600 * 1000).has_value());
}

TEST(TokenSigner, TokenSignedWithAnotherSecretIsRejected) {
  TokenSigner signer(kSecret);
  TokenSigner other(kOtherSecret);
  auto token = other.sign(sample_claims());
  EXPECT_TRUE(other.verify(token, kIssued).has_value());
  EXPECT_FALSE(signer.verify(token, kIssued).has_value());
}

TEST(TokenSigner, TamperedPayloadIsRejected) {
  TokenSigner signer(kSecret);
  auto parts = split(signer.sign(sample_claims()));
  ASSERT_EQ(parts.size(), 3u);
  // Escalate the role, keep the original signature.
  std::string evil_payload =
      R"({"sub":"user-123","org":"org-456","role":"admin","iat":1700000000,"exp":1700000900})";
  std::string tampered = parts[0] + "." + base64url_encode(evil_payload) + "." + parts[2];
  EXPECT_FALSE(signer.verify(tampered, kIssued).has_value());

  // Extend the expiry, keep the original signature.
  std::string later_payload =
      R"({"sub":"user-123","org":"org-456","role":"manager","iat":1700000000,"exp":1900000000})";
  tampered = parts[0] + "." + base64url_encode(later_payload) + "." + parts[2];
  EXPECT_FALSE(signer.verify(tampered, kIssued).has_value());

  // Flip one character of the payload.
  std::string flipped = parts[1];
  flipped[5] = flipped[5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.verify(parts[0] + "." + flipped + "." + parts[2], kIssued).has_value());
}

TEST(TokenSigner, TamperedSignatureIsRejected) {
  TokenSigner signer(kSecret);
  auto parts = split(signer.sign(sample_claims()));
  std::string sig = parts[2];
  sig[0] = sig[0] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(signer.verify(parts[0] + "." + parts[1] + "." + sig, kIssued).has_value());
  // Truncated signature.
  EXPECT_FALSE(signer.verify(parts[0] + "." + parts[1] + "." + parts[2].substr(0, 20), kIssued).has_value());
  // Signature of the right length but all zeros.
  EXPECT_FALSE(
      signer.verify(parts[0] + "." + parts[1] + "." + base64url_encode(std::string(32, '\0')), kIssued).has_value());
}

TEST(TokenSigner, AlgNoneIsRejected) {
  TokenSigner signer(kSecret);
  std::string header = base64url_encode(R"({"alg":"none","typ":"JWT"})");
  std::string payload = base64url_encode(kGoodPayload);
  EXPECT_FALSE(signer.verify(header + "." + payload + ".", kIssued).has_value());
  // Also with a correct HMAC attached: the header alone must cause rejection.
  EXPECT_FALSE(signer.verify(forge(R"({"alg":"none","typ":"JWT"})", kGoodPayload, kSecret), kIssued).has_value());
  // Case games on "none".
  EXPECT_FALSE(signer.verify(base64url_encode(R"({"alg":"None","typ":"JWT"})") + "." + payload + ".", kIssued)
                   .has_value());
}

TEST(TokenSigner, OtherAlgorithmsInHeaderAreRejected) {
  TokenSigner signer(kSecret);
  // Both are "signed" with the server's key using HMAC-SHA256: only the header differs.
  EXPECT_FALSE(signer.verify(forge(R"({"alg":"HS512","typ":"JWT"})", kGoodPayload, kSecret), kIssued).has_value());
  EXPECT_FALSE(signer.verify(forge(R"({"alg":"RS256","typ":"JWT"})", kGoodPayload, kSecret), kIssued).has_value());
  EXPECT_FALSE(signer.verify(forge(R"({"typ":"JWT"})", kGoodPayload, kSecret), kIssued).has_value());
}

TEST(TokenSigner, CorrectlySignedButInvalidClaimsAreRejected) {
  TokenSigner signer(kSecret);
  auto bad = [&](std::string_view payload) { return !signer.verify(forge(kGoodHeader, payload, kSecret), kIssued); };
  EXPECT_TRUE(bad(R"({"org":"o","role":"agent","iat":1700000000,"exp":1700000900})"));            // no sub
  EXPECT_TRUE(bad(R"({"sub":"u","role":"agent","iat":1700000000,"exp":1700000900})"));            // no org
  EXPECT_TRUE(bad(R"({"sub":"u","org":"o","iat":1700000000,"exp":1700000900})"));                 // no role
  EXPECT_TRUE(bad(R"({"sub":"u","org":"o","role":"agent","iat":1700000000})"));                   // no exp
  EXPECT_TRUE(bad(R"({"sub":"u","org":"o","role":"agent","exp":1700000900})"));                   // no iat
  EXPECT_TRUE(bad(R"({"sub":"u","org":"o","role":"root","iat":1700000000,"exp":1700000900})"));   // bad role
  EXPECT_TRUE(bad(R"({"sub":"u","org":"o","role":"agent","iat":1700000000,"exp":"1700000900"})"));  // exp type
  EXPECT_TRUE(bad(R"({"sub":1,"org":"o","role":"agent","iat":1700000000,"exp":1700000900})"));    // sub type
  EXPECT_TRUE(bad(R"(["not","an","object"])"));
  EXPECT_TRUE(bad("not json"));
  EXPECT_TRUE(bad(""));
}

TEST(TokenSigner, MalformedStringsAreRejected) {
  TokenSigner signer(kSecret);
  auto token = signer.sign(sample_claims());
  auto parts = split(token);
  EXPECT_FALSE(signer.verify("", kIssued));
  EXPECT_FALSE(signer.verify("nodots", kIssued));
  EXPECT_FALSE(signer.verify(".", kIssued));
  EXPECT_FALSE(signer.verify("..", kIssued));
  EXPECT_FALSE(signer.verify("...", kIssued));
  EXPECT_FALSE(signer.verify(parts[0] + "." + parts[1], kIssued));              // two parts
  EXPECT_FALSE(signer.verify(token + ".extra", kIssued));                        // four parts
  EXPECT_FALSE(signer.verify(token + ".", kIssued));                             // trailing dot
  EXPECT_FALSE(signer.verify(parts[0] + ".!!!$$$." + parts[2], kIssued));        // bad base64 payload
  EXPECT_FALSE(signer.verify(parts[0] + "." + parts[1] + ".!!!" + parts[2], kIssued));  // bad base64 sig
  EXPECT_FALSE(signer.verify(parts[0] + "." + parts[1] + "." + parts[2] + "=", kIssued));  // padding
  EXPECT_FALSE(signer.verify(" " + token, kIssued));
  EXPECT_FALSE(signer.verify(token + " ", kIssued));
  EXPECT_FALSE(signer.verify("Bearer " + token, kIssued));
  // Standard (not URL-safe) alphabet is not base64url.
  std::string std_sig = parts[2];
  for (auto& c : std_sig) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  if (std_sig != parts[2]) {
    EXPECT_FALSE(signer.verify(parts[0] + "." + parts[1] + "." + std_sig, kIssued));
  }
}

TEST(TokenSigner, HugeInputIsRejected) {
  TokenSigner signer(kSecret);
  std::string huge = std::string(1 << 20, 'A') + "." + std::string(1 << 20, 'B') + "." + std::string(1 << 20, 'C');
  EXPECT_FALSE(signer.verify(huge, kIssued));
  std::string many_dots(1 << 20, '.');
  EXPECT_FALSE(signer.verify(many_dots, kIssued));
  // A valid token followed by a lot of junk.
  EXPECT_FALSE(signer.verify(signer.sign(sample_claims()) + std::string(100'000, 'x'), kIssued));
}

TEST(TokenSigner, SecretShorterThan32BytesThrows) {
  EXPECT_THROW(TokenSigner(std::string(31, 'x')), std::invalid_argument);
  EXPECT_THROW(TokenSigner(std::string()), std::invalid_argument);
  EXPECT_NO_THROW(TokenSigner(std::string(32, 'x')));
  EXPECT_NO_THROW(TokenSigner(std::string(64, 'x')));
}

TEST(TokenSigner, ConcurrentSignAndVerify) {
  // One signer is shared by every I/O thread.
  TokenSigner signer(kSecret);
  TokenSigner other(kOtherSecret);
  const std::string foreign = other.sign(sample_claims());
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 2000; ++i) {
        auto c = sample_claims();
        c.user_id = "user-" + std::to_string(t) + "-" + std::to_string(i);
        auto claims = signer.verify(signer.sign(c), kIssued);
        if (!claims || claims->user_id != c.user_id) ++failures;
        if (signer.verify(foreign, kIssued)) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST(Base64Url, KnownVectors) {
  EXPECT_EQ(base64url_encode(""), "");
  EXPECT_EQ(base64url_encode("f"), "Zg");
  EXPECT_EQ(base64url_encode("fo"), "Zm8");
  EXPECT_EQ(base64url_encode("foo"), "Zm9v");
  EXPECT_EQ(base64url_encode("foobar"), "Zm9vYmFy");
  // 0xfb 0xff is "+/8=" in standard base64, "-_8" in unpadded base64url.
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_EQ(base64url_decode("-_8"), std::string("\xfb\xff"));
  EXPECT_EQ(base64url_decode("Zm9vYmFy"), std::string("foobar"));
  EXPECT_EQ(base64url_decode(""), std::string());
}

TEST(Base64Url, RoundTripsAllByteValuesAndLengths) {
  std::string all;
  for (int i = 0; i < 256; ++i) all.push_back(static_cast<char>(i));
  for (std::size_t len = 0; len <= all.size(); ++len) {
    std::string input = all.substr(256 - len);
    std::string encoded = base64url_encode(input);
    EXPECT_EQ(encoded.find_first_of("+/="), std::string::npos) << "len " << len;
    EXPECT_EQ(encoded.size(), (len * 4 + 2) / 3) << "len " << len;
    auto decoded = base64url_decode(encoded);
    ASSERT_TRUE(decoded.has_value()) << "len " << len;
    EXPECT_EQ(*decoded, input) << "len " << len;
  }
}

TEST(Base64Url, DecodeRejectsInvalidText) {
  EXPECT_FALSE(base64url_decode("Zm9v="));    // padding
  EXPECT_FALSE(base64url_decode("Zg=="));
  EXPECT_FALSE(base64url_decode("+/8"));      // standard alphabet
  EXPECT_FALSE(base64url_decode("Zm 9v"));    // whitespace
  EXPECT_FALSE(base64url_decode("Z"));        // impossible length
  EXPECT_FALSE(base64url_decode("Zm9v!"));
  EXPECT_FALSE(base64url_decode("Zh"));       // non-zero trailing bits (non-canonical)
}

TEST(RefreshToken, ShapeAndRandomness) {
  std::set<std::string> seen;
  for (int i = 0; i < 50; ++i) {
    auto token = new_refresh_token();
    ASSERT_EQ(token.size(), 43u);
    EXPECT_EQ(token.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"),
              std::string::npos)
        << token;
    auto raw = base64url_decode(token);
    ASSERT_TRUE(raw.has_value());
    EXPECT_EQ(raw->size(), 32u);
    seen.insert(token);
  }
  EXPECT_EQ(seen.size(), 50u);
}

TEST(RefreshToken, HashIs64HexCharsAndDeterministic) {
  auto a = new_refresh_token();
  auto b = new_refresh_token();
  ASSERT_NE(a, b);
  auto ha = hash_refresh_token(a);
  auto hb = hash_refresh_token(b);
  EXPECT_EQ(ha.size(), 64u);
  EXPECT_EQ(hb.size(), 64u);
  EXPECT_EQ(ha.find_first_not_of("0123456789abcdef"), std::string::npos) << ha;
  EXPECT_NE(ha, hb);
  EXPECT_EQ(ha, hash_refresh_token(a));
  EXPECT_NE(ha, a);
  // SHA-256 test vector.
  EXPECT_EQ(hash_refresh_token("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hash_refresh_token(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

}  // namespace
}  // namespace lms::auth
