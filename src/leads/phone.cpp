#include "leads/phone.h"

#include <phonenumbers/phonenumberutil.h>

#include <set>

namespace lms::leads {

using i18n::phonenumbers::PhoneNumber;
using i18n::phonenumbers::PhoneNumberUtil;

std::optional<std::string> normalize_phone(std::string_view raw, std::string_view region) {
  if (raw.empty() || raw.size() > 64) return std::nullopt;
  const auto* util = PhoneNumberUtil::GetInstance();
  PhoneNumber number;
  if (util->Parse(std::string(raw), std::string(region), &number) != PhoneNumberUtil::NO_PARSING_ERROR)
    return std::nullopt;
  if (!util->IsValidNumber(number)) return std::nullopt;
  std::string e164;
  util->Format(number, PhoneNumberUtil::E164, &e164);
  return e164;
}

bool is_supported_region(std::string_view region) {
  static const std::set<std::string> regions = [] {
    std::set<std::string> out;
    PhoneNumberUtil::GetInstance()->GetSupportedRegions(&out);
    return out;
  }();
  return regions.count(std::string(region)) > 0;
}

}  // namespace lms::leads
