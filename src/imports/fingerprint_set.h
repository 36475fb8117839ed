// FingerprintSet: which keys a dry run has seen, in 8 bytes per key. A dry run must report the
// in-file duplicates a real import would, without writing the rows it checks against; keeping
// every phone and email string would grow with the file (~100 bytes a key). The set keeps a
// 64-bit hash per key in an open-addressing table instead. Two different keys sharing a hash
// would make one row a false duplicate: for the 2,000,000 keys of a 1M-row file the chance of
// any such pair is about 1 in 10^7.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace lms::imports {

class FingerprintSet {
 public:
  // Adds the key; false when it (or a key with the same fingerprint) was there already.
  bool insert(std::string_view kind, std::string_view key);
  std::size_t size() const { return count_; }

 private:
  static std::uint64_t fingerprint(std::string_view kind, std::string_view key);
  void grow();
  bool place(std::uint64_t fp);

  std::vector<std::uint64_t> slots_;  // 0 = empty; a power of two long, at most half full
  std::size_t count_ = 0;
};

}  // namespace lms::imports
