// A read-through cache of recently read leads for the embedded engine, so that reading a hot
// lead by id costs a hash lookup on the caller's thread instead of a hop to a reader thread.
// Correctness rests on two rules kept by SqliteStore and SqliteLeadStore:
//  - the writer invalidates every lead a batch changed after the batch commits and before
//    any of its callers is answered (so a client always reads its own writes);
//  - a reader offers what it read together with the generation of the lead's shard taken
//    before it read; an offer made after an invalidation of that shard is dropped, so a
//    read that raced a write can never put the old state back.
// Entries are checked against the caller's organization, like every query. The SQLite engine
// is the only writer of its file while it runs (one lms process per database), so nothing
// changes leads behind the cache's back.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>

#include "leads/model.h"

namespace lms::store::sqlite {

class LeadCache {
 public:
  // Holds about `capacity` leads; 0 turns the cache off.
  explicit LeadCache(std::size_t capacity) : enabled_(capacity > 0), per_shard_(capacity / kShards + 1) {}

  std::optional<leads::Lead> find(const std::string& org_id, const std::string& lead_id) {
    if (!enabled_) return std::nullopt;
    auto& shard = shard_of(lead_id);
    std::lock_guard lock(shard.mutex);
    auto it = shard.leads.find(lead_id);
    if (it == shard.leads.end() || it->second.organization_id != org_id) return std::nullopt;
    return it->second;
  }

  std::uint64_t generation(const std::string& lead_id) {
    auto& shard = shard_of(lead_id);
    std::lock_guard lock(shard.mutex);
    return shard.generation;
  }

  void offer(const leads::Lead& lead, std::uint64_t generation_before_read) {
    if (!enabled_) return;
    auto& shard = shard_of(lead.id);
    std::lock_guard lock(shard.mutex);
    if (shard.generation != generation_before_read) return;
    if (shard.leads.size() >= per_shard_) shard.leads.erase(shard.leads.begin());  // any one; cheap
    shard.leads.insert_or_assign(lead.id, lead);
  }

  void invalidate(const std::string& lead_id) {
    auto& shard = shard_of(lead_id);
    std::lock_guard lock(shard.mutex);
    ++shard.generation;
    shard.leads.erase(lead_id);
  }

 private:
  static constexpr std::size_t kShards = 64;
  struct Shard {
    std::mutex mutex;
    std::uint64_t generation = 0;
    std::unordered_map<std::string, leads::Lead> leads;
  };
  Shard& shard_of(const std::string& lead_id) { return shards_[std::hash<std::string>{}(lead_id) % kShards]; }

  bool enabled_;
  std::size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

}  // namespace lms::store::sqlite
