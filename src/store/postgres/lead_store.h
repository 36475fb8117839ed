// The PostgreSQL implementation of LeadStore, on the connection pool of PostgresStore.
// Duplicates are refused by the unique partial indexes (org, phone) and (org, email); a
// mutation reads the lead with SELECT ... FOR UPDATE and writes it in the same transaction;
// substring search runs on the trigram index of leads.search_doc (pg_trgm).
#pragma once

#include "store/postgres/pool.h"
#include "store/store.h"

namespace lms::store::postgres {

class PgLeadStore final : public LeadStore {
 public:
  explicit PgLeadStore(Pool& pool) : pool_(pool) {}

  Task<WriteResult> insert_lead(leads::Lead lead, leads::Activity activity) override;
  Task<std::optional<leads::Lead>> find_lead(std::string org_id, std::string lead_id) override;
  Task<WriteResult> update_lead(std::string org_id, std::string lead_id, LeadMutation mutate) override;
  Task<WriteResult> delete_lead(std::string org_id, std::string lead_id, leads::Activity activity) override;
  Task<std::vector<leads::Lead>> bulk_update(std::string org_id, std::vector<std::string> ids,
                                             LeadMutation mutate) override;
  Task<leads::LeadPage> list_leads(std::string org_id, leads::LeadQuery query) override;
  Task<std::int64_t> count_leads(std::string org_id, leads::LeadFilter filter) override;
  Task<leads::LeadStats> lead_stats(std::string org_id, leads::LeadFilter filter, Millis days_from) override;
  std::unique_ptr<LeadCursor> export_leads(std::string org_id, leads::LeadFilter filter, leads::SortKey sort,
                                           LeadRenderer render) override;
  Task<void> insert_activity(std::string org_id, leads::Activity activity) override;
  Task<std::int64_t> insert_leads(std::string org_id, std::vector<leads::Lead> leads, std::string activity_type,
                                  std::string activity_data) override;
  Task<leads::ActivityPage> list_activities(std::string org_id, std::string lead_id, int limit,
                                            std::optional<std::string> before) override;

 private:
  Pool& pool_;
};

}  // namespace lms::store::postgres
