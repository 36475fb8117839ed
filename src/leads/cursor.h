// Opaque pagination cursors. A cursor carries where the previous page ended (sort, sort key,
// row key) and a MAC over that and the organization id, so a tampered cursor, or one that
// another organization obtained, is refused (400) instead of being trusted.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

#include "leads/model.h"

namespace lms::leads {

class CursorCodec {
 public:
  // `secret` is the server's token secret; a separate key is derived from it.
  explicit CursorCodec(std::string_view secret);

  std::string encode(const Position& position, std::string_view org_id) const;
  // nullopt for anything that this server did not issue to this organization.
  std::optional<Position> decode(std::string_view cursor, std::string_view org_id) const;

 private:
  std::string mac(std::string_view payload, std::string_view org_id) const;
  std::array<unsigned char, 32> key_{};
};

}  // namespace lms::leads
