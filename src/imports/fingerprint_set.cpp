#include "imports/fingerprint_set.h"

#include "common/hash.h"

namespace lms::imports {

std::uint64_t FingerprintSet::fingerprint(std::string_view kind, std::string_view key) {
  // The kind becomes the tag, so a phone and an email with the same text stay apart.
  return fingerprint64(fingerprint64(0, kind), key);
}

bool FingerprintSet::insert(std::string_view kind, std::string_view key) {
  if ((count_ + 1) * 2 > slots_.size()) grow();
  if (!place(fingerprint(kind, key))) return false;
  ++count_;
  return true;
}

bool FingerprintSet::place(std::uint64_t fp) {
  const std::size_t mask = slots_.size() - 1;
  for (std::size_t i = fp & mask;; i = (i + 1) & mask) {
    if (slots_[i] == fp) return false;
    if (slots_[i] == 0) {
      slots_[i] = fp;
      return true;
    }
  }
}

void FingerprintSet::grow() {
  std::vector<std::uint64_t> old = std::move(slots_);
  slots_.assign(old.empty() ? 1024 : old.size() * 2, 0);
  for (std::uint64_t fp : old)
    if (fp != 0) place(fp);
}

}  // namespace lms::imports
