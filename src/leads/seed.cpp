#include "leads/seed.h"

#include <array>

#include "common/ids.h"

namespace lms::leads {

namespace {

constexpr std::array kFirst = {"James", "Mary", "Robert", "Patricia", "John", "Jennifer", "Michael", "Linda",
                               "David", "Elizabeth", "William", "Barbara", "Richard", "Susan", "Joseph", "Jessica",
                               "Thomas", "Sarah", "Carlos", "Priya", "Wei", "Fatima", "Olga", "Kenji", "Amara",
                               "Lukas", "Sofia", "Mateo", "Aisha", "Noah", "Emma", "Liam"};
constexpr std::array kLast = {"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
                              "Rodriguez", "Martinez", "Hernandez", "Lopez", "Wilson", "Anderson", "Taylor",
                              "Thomas", "Moore", "Jackson", "Martin", "Lee", "Patel", "Nguyen", "Kim", "Müller",
                              "Schmidt", "Dubois", "Rossi", "Singh", "Chen", "Okafor", "Ivanova", "Tanaka"};
constexpr std::array kCompanyA = {"Acme", "Globex", "Initech", "Umbrella", "Stark", "Wayne", "Hooli", "Vandelay",
                                  "Soylent", "Tyrell", "Cyberdyne", "Aperture", "Wonka", "Gringotts", "Oscorp",
                                  "Pied Piper"};
constexpr std::array kCompanyB = {"Corp", "Inc", "LLC", "Industries", "Labs", "Systems", "Group", "Partners",
                                  "Holdings", "Logistics", "Foods", "Analytics"};
constexpr std::array kDomains = {"example.com", "mail.test", "corp.example", "inbox.test", "biz.example"};
constexpr std::array kSources = {"website", "referral", "webinar", "trade show", "cold call", "linkedin",
                                 "partner", "import"};
constexpr std::array kStatuses = {"new", "new", "new", "contacted", "contacted", "qualified", "converted", "lost"};
constexpr std::array kTags = {"vip", "q1", "q2", "q3", "q4", "enterprise", "smb", "renewal", "hot", "cold"};
constexpr std::array kUsAreaCodes = {"212", "310", "415", "512", "617", "646", "702", "718", "773", "917"};

std::uint64_t mix(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

std::string digits(std::uint64_t value, int width) {
  std::string out(static_cast<std::size_t>(width), '0');
  for (int i = width - 1; i >= 0; --i, value /= 10) out[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
  return out;
}

// A valid E.164 number, distinct for every k (up to tens of millions per country).
std::string phone_for(std::uint64_t index) {
  std::uint64_t k = index / 5;
  switch (index % 5) {
    case 0: {  // United States: NPA NXX-XXXX, exchange 201..999 but never N11
      std::uint64_t exchange = 201 + (k / kUsAreaCodes.size()) / 10000 % 799;
      if (exchange % 100 == 11) exchange += 1;
      return std::string("+1") + kUsAreaCodes[k % kUsAreaCodes.size()] + digits(exchange, 3) +
             digits((k / kUsAreaCodes.size()) % 10000, 4);
    }
    case 1:  // United Kingdom mobile: 7400 000000 onwards
      return "+447" + digits(400000000 + k % 99999999, 9);
    case 2:  // Germany mobile: 151 xxxxxxxx
      return "+49151" + digits(10000000 + k % 89999999, 8);
    case 3:  // France mobile: 6 xx xx xx xx
      return "+336" + digits(10000000 + k % 89999999, 8);
    default:  // India mobile: 9xxxxxxxxx
      return "+919" + digits(100000000 + k % 899999999, 9);
  }
}

}  // namespace

LeadGenerator::LeadGenerator(std::string org_id, std::vector<std::string> agent_ids, std::string created_by, Millis now,
                             std::uint64_t total, std::uint64_t first_number)
    : org_id_(std::move(org_id)),
      agents_(std::move(agent_ids)),
      created_by_(std::move(created_by)),
      now_(now),
      total_(total == 0 ? 1 : total),
      first_(first_number) {}

Lead LeadGenerator::make(std::uint64_t index) const {
  const std::uint64_t number = first_ + index;
  std::uint64_t r = mix(number * 0x100000001B3ull);
  Lead l;
  const char* first = kFirst[r % kFirst.size()];
  const char* last = kLast[(r >> 8) % kLast.size()];
  l.organization_id = org_id_;
  l.name = std::string(first) + " " + last;
  l.phone = phone_for(number);
  std::string local = std::string(first) + "." + last + "." + std::to_string(number);
  for (auto& c : local)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  l.email = local + "@" + kDomains[(r >> 16) % kDomains.size()];
  if ((r >> 20) % 5 != 0) l.company = std::string(kCompanyA[(r >> 24) % kCompanyA.size()]) + " " + kCompanyB[(r >> 28) % kCompanyB.size()];
  l.source = kSources[(r >> 32) % kSources.size()];
  l.status = kStatuses[(r >> 36) % kStatuses.size()];
  if (!agents_.empty() && (r >> 40) % 10 != 0) l.assigned_to = agents_[(r >> 44) % agents_.size()];
  if ((r >> 48) % 3 == 0) l.tags.push_back(kTags[(r >> 50) % kTags.size()]);
  if ((r >> 54) % 7 == 0) {
    std::string second = kTags[(r >> 56) % kTags.size()];
    if (l.tags.empty() || l.tags[0] != second) l.tags.push_back(second);
  }
  constexpr Millis kYear = 365LL * 24 * 3600 * 1000;
  const auto spacing = static_cast<std::uint64_t>(kYear) / total_;
  l.created_at = now_ - kYear + static_cast<Millis>(index * spacing + (spacing > 1 ? mix(r) % spacing : 0));
  l.updated_at = l.created_at + static_cast<Millis>((r >> 12) % (7LL * 24 * 3600 * 1000));
  if (l.updated_at > now_) l.updated_at = now_;
  l.id = new_id_at(l.created_at);
  l.version = 1;
  l.created_by = created_by_;
  return l;
}

}  // namespace lms::leads
