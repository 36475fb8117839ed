// LeadsService: the rules of leads. Roles (agents see and change only their own leads and
// cannot reassign or delete), tenancy (another organization's ids are 404), normalization
// (E.164 phones read with the organization's country, lower-case emails), duplicates (409
// with the existing id), versions and If-Match, and an activity for every change. Knows
// nothing of HTTP; imports reuse normalize().
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "accounts/directory.h"
#include "leads/cursor.h"
#include "leads/model.h"
#include "realtime/event_bus.h"
#include "store/store.h"

namespace lms::leads {

// A field of a create or patch body: absent (nullopt), explicitly null, or a value.
template <class T>
using Field = std::optional<std::optional<T>>;

struct LeadInput {
  Field<std::string> name, phone, email, company, source, status, assigned_to;
  std::optional<std::vector<std::string>> tags;
  std::optional<std::string> custom_json;  // already checked to be an object of scalars
};

// The list, count and export query as the client wrote it; the service validates it.
struct ListRequest {
  std::optional<std::string> status, assigned_to, source, tag, q, created_from, created_to, sort, limit, cursor;
};

// A page of a lead's timeline as the client asked for it (limit 1..200, default 50).
struct ActivitiesRequest {
  std::optional<std::string> limit, cursor;
};
struct ActivitiesResult {
  std::vector<Activity> items;
  std::optional<std::string> next_cursor;
};

struct ListResult {
  std::vector<Lead> items;
  std::optional<std::string> next_cursor;
};

// The dashboard's figures: the counts of LeadStats, with the per-day counts for each of the
// last `days` UTC days (oldest first, zeros included).
struct StatsResult {
  std::int64_t total = 0;
  LeadStats stats;
  std::vector<std::pair<std::string, std::int64_t>> per_day;  // "2026-12-01" → count
};

struct BulkRequest {
  std::vector<std::string> ids;
  std::optional<std::string> status;
  Field<std::string> assigned_to;
  std::optional<std::vector<std::string>> tags;
};

// The normalized fields of a lead as read from input, shared with CSV imports.
struct NormalizedFields {
  std::optional<std::string> name, phone, email, company, source, status;
  std::optional<std::vector<std::string>> tags;
};

// Validates and normalizes the scalar fields present in `input` (phone with `region`).
// Collects every failing field into one 422.
NormalizedFields normalize(const LeadInput& input, std::string_view region);
// The rules of a new lead (API and CSV imports alike): normalize() plus a required name and a
// phone or an email. Collects every failing field into one 422.
NormalizedFields validate_new_lead(const LeadInput& input, std::string_view region);
// A version-1 lead from validated fields, created at `now` (a new id of that time); callers
// add custom fields and the assignee.
Lead new_lead(const NormalizedFields& f, const std::string& organization_id, const std::string& created_by, Millis now);
// Trimmed, de-duplicated tags; a 422 names `field` (`tags`, or `set.tags` in a bulk update).
std::vector<std::string> normalize_tags(const std::vector<std::string>& tags, const std::string& field = "tags");

class LeadsService {
 public:
  // Every change is announced on `events` (when given) after it is stored.
  LeadsService(store::LeadStore& store, accounts::AccountDirectory& directory, const CursorCodec& cursors,
               realtime::EventBus* events = nullptr);

  store::Task<Lead> create(accounts::Principal caller, LeadInput input);
  store::Task<Lead> get(accounts::Principal caller, std::string id);
  store::Task<Lead> update(accounts::Principal caller, std::string id, LeadInput input,
                           std::optional<std::int64_t> if_match);
  store::Task<void> remove(accounts::Principal caller, std::string id);
  store::Task<std::int64_t> bulk_update(accounts::Principal caller, BulkRequest request);
  store::Task<ActivitiesResult> activities(accounts::Principal caller, std::string id, ActivitiesRequest request);
  store::Task<Activity> add_note(accounts::Principal caller, std::string id, std::string body);
  store::Task<ListResult> list(accounts::Principal caller, ListRequest request);
  store::Task<std::int64_t> count(accounts::Principal caller, ListRequest request);
  // `days`: 1..366, default 30.
  store::Task<StatsResult> stats(accounts::Principal caller, ListRequest request, std::optional<std::string> days);
  // For admins and managers: a cursor over every matching lead, rendered by `render`.
  std::unique_ptr<store::LeadCursor> export_leads(const accounts::Principal& caller, const ListRequest& request,
                                                  store::LeadRenderer render);

 private:
  LeadQuery parse_query(const accounts::Principal& caller, const ListRequest& request, bool paged) const;
  // 422 naming `field` unless `user_id` is an active user of the caller's organization.
  store::Task<void> check_assignee(const accounts::Principal& caller, const std::optional<std::string>& user_id,
                                   const char* field = "assignedTo");
  store::Task<std::string> region_of(const std::string& org_id);
  // `lead:assigned` when the assignee changed (`previous` differs), else `kind`.
  void announce(realtime::EventKind kind, const Lead& lead, const std::optional<std::string>& previous = {});

  store::LeadStore& store_;
  accounts::AccountDirectory& directory_;
  const CursorCodec& cursors_;
  realtime::EventBus* events_;
};

}  // namespace lms::leads
