// Pulls one file part out of a spooled multipart/form-data body (RFC 7578) into its own
// file, streaming: memory stays bounded whatever the upload's size.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace lms::imports {

// The boundary parameter of a multipart/form-data Content-Type, or nullopt.
std::optional<std::string> multipart_boundary(std::string_view content_type);

struct ExtractedPart {
  bool found = false;
  std::string file_name;  // the part's filename parameter, if any
  std::string error;      // a malformed body; empty when well-formed
};

// Copies the content of the part named `field` from `body` into `out`.
ExtractedPart extract_part(const std::filesystem::path& body, std::string_view boundary, std::string_view field,
                           const std::filesystem::path& out);

}  // namespace lms::imports
