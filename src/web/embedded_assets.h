// The desk's files as built into the binary at `make build` (web/embed.mjs writes the table
// from web/dist: every file with its content type, ETag and precompressed copies).
#pragma once

#include <span>
#include <string_view>

namespace lms::web {

struct EmbeddedAsset {
  std::string_view path;          // "/index.html", "/assets/main-3FJ2K.js"
  std::string_view content_type;
  std::string_view etag;          // quoted
  bool immutable;                 // a content-hashed name: cached for a year
  std::string_view identity;
  std::string_view gzip;          // empty when compression would not shrink it
  std::string_view brotli;
};

// Empty when lms was built without the desk (-DLMS_WEB=OFF).
std::span<const EmbeddedAsset> embedded_assets();

}  // namespace lms::web
