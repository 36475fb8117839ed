// Placeholder until the PostgreSQL lead store lands: every call reports 503.
#include "store/postgres/lead_store.h"

namespace lms::store::postgres {

namespace {
[[noreturn]] void missing() { throw ApiError::unavailable("the PostgreSQL lead store is not built yet"); }
struct NoCursor final : LeadCursor {
  Task<std::string> next() override { missing(); }
};
}  // namespace

Task<WriteResult> PgLeadStore::insert_lead(leads::Lead, leads::Activity) { missing(); }
Task<std::optional<leads::Lead>> PgLeadStore::find_lead(std::string, std::string) { missing(); }
Task<WriteResult> PgLeadStore::update_lead(std::string, std::string, LeadMutation) { missing(); }
Task<WriteResult> PgLeadStore::delete_lead(std::string, std::string, leads::Activity) { missing(); }
Task<std::vector<leads::Lead>> PgLeadStore::bulk_update(std::string, std::vector<std::string>, LeadMutation) {
  missing();
}
Task<leads::LeadPage> PgLeadStore::list_leads(std::string, leads::LeadQuery) { missing(); }
Task<std::int64_t> PgLeadStore::count_leads(std::string, leads::LeadFilter) { missing(); }
std::unique_ptr<LeadCursor> PgLeadStore::export_leads(std::string, leads::LeadFilter, leads::SortKey, LeadRenderer) {
  return std::make_unique<NoCursor>();
}
Task<void> PgLeadStore::insert_activity(std::string, leads::Activity) { missing(); }
Task<std::int64_t> PgLeadStore::insert_leads(std::string, std::vector<leads::Lead>, std::string, std::string) {
  missing();
}
Task<leads::ActivityPage> PgLeadStore::list_activities(std::string, std::string, int, std::optional<std::int64_t>) {
  missing();
}

}  // namespace lms::store::postgres
