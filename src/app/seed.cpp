#include "app/seed.h"

#include <algorithm>
#include <chrono>
#include <future>
#include <stdexcept>

#include "app/app.h"
#include "common/ids.h"
#include "leads/seed.h"

namespace lms::app {

SeedResult seed_organization(store::Store& store, const std::string& org_id, std::uint64_t leads, int agents,
                             const std::string& agent_password_hash, std::size_t batch,
                             const std::function<void(std::int64_t)>& progress) {
  auto started = std::chrono::steady_clock::now();
  auto users = block_on(store.accounts().list_users(org_id));
  if (users.empty()) throw std::runtime_error("organization " + org_id + " does not exist or has no users");
  std::string creator = users.front().id;
  for (const auto& u : users)
    if (u.role == accounts::Role::admin) {
      creator = u.id;
      break;
    }

  std::vector<std::string> agent_ids;
  Millis now = now_ms();
  std::string tag = new_id().substr(24, 6);
  for (int i = 0; i < agents; ++i) {
    accounts::User agent;
    agent.id = new_id_at(now);
    agent.organization_id = org_id;
    agent.name = "Agent " + std::to_string(i + 1);
    agent.email = "agent" + std::to_string(i + 1) + "-" + tag + "@seed.lms";
    agent.role = accounts::Role::agent;
    agent.created_at = now;
    accounts::UserRecord record{agent, agent_password_hash};
    if (block_on(store.accounts().insert_user(std::move(record)))) agent_ids.push_back(agent.id);
  }
  for (const auto& u : users)
    if (u.role == accounts::Role::agent && u.active) agent_ids.push_back(u.id);

  // Indexes start after the leads the organization may already have, so phones stay unique.
  std::uint64_t first = static_cast<std::uint64_t>(block_on(store.leads().count_leads(org_id, {})));
  leads::LeadGenerator generator(org_id, agent_ids, creator, now, leads, first);
  SeedResult result;
  result.agents = static_cast<int>(agent_ids.size());
  // Generation of the next batch overlaps with the write of the current one.
  auto make_batch = [&](std::uint64_t from, std::uint64_t to) {
    std::vector<leads::Lead> out;
    out.reserve(to - from);
    for (std::uint64_t i = from; i < to; ++i) out.push_back(generator.make(i));
    // Inserting in key order keeps the B-tree inserts of the id and created_at indexes local.
    std::sort(out.begin(), out.end(), [](const leads::Lead& a, const leads::Lead& b) { return a.id < b.id; });
    return out;
  };
  std::uint64_t next = 0;
  auto pending = std::async(std::launch::async, make_batch, next, std::min<std::uint64_t>(leads, batch));
  while (next < leads) {
    auto current = pending.get();
    next += current.size();
    if (next < leads) pending = std::async(std::launch::async, make_batch, next, std::min<std::uint64_t>(leads, next + batch));
    result.inserted += block_on(store.leads().insert_leads(org_id, std::move(current), "created", "{}"));
    if (progress) progress(result.inserted);
  }
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  return result;
}

}  // namespace lms::app
