// Phone numbers to E.164 with libphonenumber, read with the organization's default region
// when written without a country code. The same code serves the API and CSV imports.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace lms::leads {

// "+14155550123" for a valid number, nullopt for anything unparseable or invalid.
std::optional<std::string> normalize_phone(std::string_view raw, std::string_view region);
// True when libphonenumber knows the region (an ISO 3166-1 alpha-2 code).
bool is_supported_region(std::string_view region);

}  // namespace lms::leads
