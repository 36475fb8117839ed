#include "leads/leads_service.h"

#include <charconv>
#include <unordered_map>
#include <unordered_set>

#include "common/errors.h"
#include "common/ids.h"
#include "common/json.h"
#include "common/validate.h"
#include "leads/phone.h"
#include "leads/render.h"

namespace lms::leads {

using accounts::Principal;
using accounts::Role;

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// Optional free text: trimmed; empty means "no value".
std::optional<std::string> optional_text(const std::optional<std::string>& raw, const char* field, std::size_t max) {
  if (!raw) return std::nullopt;
  auto t = trim(*raw);
  if (t.empty()) return std::nullopt;
  return validate::text(t, field, max);
}

bool is_manager(const Principal& p) { return p.role == Role::admin || p.role == Role::manager; }

std::string from_to_json(const std::optional<std::string>& from, const std::optional<std::string>& to) {
  return json::build([&](json::Writer& w) {
    w.StartObject();
    json::key(w, "from");
    from ? json::string(w, *from) : (void)w.Null();
    json::key(w, "to");
    to ? json::string(w, *to) : (void)w.Null();
    w.EndObject();
  });
}

Activity make_activity(const std::string& lead_id, std::string type, const std::string& actor, std::string data,
                       Millis now) {
  return Activity{new_id_at(now), lead_id, std::move(type), actor, std::move(data), now};
}

// The activities that record the difference between two states of a lead.
std::vector<Activity> diff_activities(const Lead& before, const Lead& after, const std::string& actor, Millis now) {
  std::vector<Activity> out;
  if (before.status != after.status)
    out.push_back(make_activity(after.id, "status_changed", actor,
                                from_to_json(before.status, after.status), now));
  if (before.assigned_to != after.assigned_to)
    out.push_back(make_activity(after.id, "assigned", actor, from_to_json(before.assigned_to, after.assigned_to), now));
  std::vector<const char*> fields;
  if (before.name != after.name) fields.push_back("name");
  if (before.phone != after.phone) fields.push_back("phone");
  if (before.email != after.email) fields.push_back("email");
  if (before.company != after.company) fields.push_back("company");
  if (before.source != after.source) fields.push_back("source");
  if (before.tags != after.tags) fields.push_back("tags");
  if (before.custom_json != after.custom_json) fields.push_back("custom");
  if (!fields.empty())
    out.push_back(make_activity(after.id, "updated", actor, json::build([&](json::Writer& w) {
                                  w.StartObject();
                                  json::key(w, "fields");
                                  w.StartArray();
                                  for (auto f : fields) w.String(f);
                                  w.EndArray();
                                  w.EndObject();
                                }),
                                now));
  return out;
}

bool same_content(const Lead& a, const Lead& b) {
  return a.name == b.name && a.phone == b.phone && a.email == b.email && a.company == b.company &&
         a.source == b.source && a.status == b.status && a.assigned_to == b.assigned_to && a.tags == b.tags &&
         a.custom_json == b.custom_json;
}

[[noreturn]] void throw_duplicate(const std::string& existing_id) {
  ApiError error(409, "duplicate_lead", "a lead with this phone or email already exists");
  error.extra.emplace_back("existingId", existing_id);
  throw error;
}

}  // namespace

std::vector<std::string> normalize_tags(const std::vector<std::string>& tags, const std::string& field) {
  std::vector<std::string> out;
  std::unordered_set<std::string> seen;
  for (const auto& raw : tags) {
    auto t = trim(raw);
    if (t.empty()) continue;
    if (validate::utf8_length(t) > 50) throw ApiError::validation(field, "each tag must be at most 50 characters");
    for (unsigned char c : t)
      if (c < 0x20 || c == 0x7f) throw ApiError::validation(field, "tags must not contain control characters");
    if (seen.insert(std::string(t)).second) out.emplace_back(t);
  }
  if (out.size() > 20) throw ApiError::validation(field, "at most 20 tags");
  return out;
}

NormalizedFields normalize(const LeadInput& in, std::string_view region) {
  NormalizedFields f;
  validate::all(
      [&] {
        if (!in.phone || !*in.phone || trim(**in.phone).empty()) return;
        f.phone = normalize_phone(trim(**in.phone), region);
        if (!f.phone) throw ApiError::validation("phone", "not a valid phone number");
      },
      [&] {
        if (!in.email || !*in.email || trim(**in.email).empty()) return;
        f.email = validate::email(**in.email);
      },
      [&] {
        if (!in.name) return;
        if (!*in.name) throw ApiError::validation("name", "is required");
        f.name = validate::text(**in.name, "name", 200);
      },
      [&] { if (in.company) f.company = optional_text(*in.company, "company", 200); },
      [&] { if (in.source) f.source = optional_text(*in.source, "source", 100); },
      [&] {
        if (!in.status) return;
        if (!*in.status || !is_status(**in.status))
          throw ApiError::validation("status", "must be one of new, contacted, qualified, converted, lost");
        f.status = **in.status;
      },
      [&] { if (in.tags) f.tags = normalize_tags(*in.tags); });
  return f;
}

LeadsService::LeadsService(store::LeadStore& store, accounts::AccountDirectory& directory, const CursorCodec& cursors,
                           realtime::EventBus* events)
    : store_(store), directory_(directory), cursors_(cursors), events_(events) {}

void LeadsService::announce(realtime::EventKind kind, const Lead& lead, const std::optional<std::string>& previous) {
  if (!events_) return;
  realtime::Event event;
  event.organization_id = lead.organization_id;
  event.assignee = lead.assigned_to.value_or("");
  if (kind == realtime::EventKind::lead_updated && previous != lead.assigned_to) {
    event.kind = realtime::EventKind::lead_assigned;
    event.previous_assignee = previous.value_or("");
    event.payload = json::build([&](json::Writer& w) {
      w.StartObject();
      json::key(w, "lead");
      write_lead(w, lead);
      json::key(w, "from");
      previous ? json::string(w, *previous) : (void)w.Null();
      json::key(w, "to");
      lead.assigned_to ? json::string(w, *lead.assigned_to) : (void)w.Null();
      w.EndObject();
    });
  } else {
    event.kind = kind;
    event.payload = lead_json(lead);
  }
  events_->publish(std::move(event));
}

store::Task<std::string> LeadsService::region_of(const std::string& org_id) {
  auto org = co_await directory_.organization(org_id);
  co_return org ? org->default_country : std::string("US");
}

store::Task<void> LeadsService::check_assignee(const Principal& caller, const std::optional<std::string>& user_id,
                                               const char* field) {
  if (!user_id) co_return;
  auto user = co_await directory_.user(caller.organization_id, *user_id);
  if (!user) throw ApiError::validation(field, "no such user in this organization");
  if (!user->active) throw ApiError::validation(field, "the user is deactivated");
}

Lead new_lead(const NormalizedFields& f, const std::string& organization_id, const std::string& created_by, Millis now) {
  Lead lead;
  lead.id = new_id_at(now);
  lead.organization_id = organization_id;
  lead.name = *f.name;
  lead.phone = f.phone;
  lead.email = f.email;
  lead.company = f.company;
  lead.source = f.source;
  if (f.status) lead.status = *f.status;
  if (f.tags) lead.tags = *f.tags;
  lead.version = 1;
  lead.created_at = lead.updated_at = now;
  lead.created_by = created_by;
  return lead;
}

NormalizedFields validate_new_lead(const LeadInput& input, std::string_view region) {
  NormalizedFields f;
  // Every failing field in one 422, an invalid phone first (clients look at details[0]).
  validate::all([&] { f = normalize(input, region); },
                [&] {
                  if (!input.name) throw ApiError::validation("name", "is required");
                },
                [&] {
                  bool has_phone = input.phone && *input.phone && !trim(**input.phone).empty();
                  bool has_email = input.email && *input.email && !trim(**input.email).empty();
                  if (!has_phone && !has_email)
                    throw ApiError::validation("phone", "a phone number or an email is required");
                });
  return f;
}

store::Task<Lead> LeadsService::create(Principal caller, LeadInput input) {
  std::string region = co_await region_of(caller.organization_id);
  NormalizedFields f = validate_new_lead(input, region);

  Millis now = now_ms();
  Lead lead = new_lead(f, caller.organization_id, caller.user_id, now);
  if (input.custom_json) lead.custom_json = *input.custom_json;
  if (caller.role == Role::agent) {
    lead.assigned_to = caller.user_id;  // agents' leads are their own
  } else if (input.assigned_to && *input.assigned_to) {
    lead.assigned_to = **input.assigned_to;
    co_await check_assignee(caller, lead.assigned_to);
  }
  Activity created = make_activity(lead.id, "created", caller.user_id, "{}", now);
  auto result = co_await store_.insert_lead(lead, std::move(created));
  if (result.outcome == store::WriteOutcome::duplicate) throw_duplicate(result.existing_id);
  announce(realtime::EventKind::lead_created, lead);
  co_return lead;
}

store::Task<Lead> LeadsService::get(Principal caller, std::string id) {
  auto lead = co_await store_.find_lead(caller.organization_id, id);
  if (!lead || (caller.role == Role::agent && lead->assigned_to != caller.user_id))
    throw ApiError::not_found("lead not found");
  co_return std::move(*lead);
}

store::Task<Lead> LeadsService::update(Principal caller, std::string id, LeadInput input,
                                       std::optional<std::int64_t> if_match) {
  std::string region = co_await region_of(caller.organization_id);
  NormalizedFields f = normalize(input, region);
  std::optional<std::string> new_assignee;
  if (input.assigned_to) {
    new_assignee = *input.assigned_to;
    if (caller.role != Role::agent) co_await check_assignee(caller, new_assignee);
  }
  Millis now = now_ms();
  std::optional<std::string> previous_assignee;
  store::LeadMutation mutate = [&](const Lead& current) -> std::optional<store::LeadChange> {
    if (caller.role == Role::agent && current.assigned_to != caller.user_id) throw ApiError::not_found("lead not found");
    previous_assignee = current.assigned_to;
    if (if_match && *if_match != current.version)
      throw ApiError(412, "precondition_failed", "the lead has changed since version " + std::to_string(*if_match));
    if (caller.role == Role::agent && input.assigned_to && new_assignee != current.assigned_to)
      throw ApiError::forbidden("agents may not reassign leads");
    Lead next = current;
    if (f.name) next.name = *f.name;
    if (input.phone) next.phone = f.phone;
    if (input.email) next.email = f.email;
    if (input.company) next.company = f.company;
    if (input.source) next.source = f.source;
    if (f.status) next.status = *f.status;
    if (input.assigned_to) next.assigned_to = new_assignee;
    if (f.tags) next.tags = *f.tags;
    if (input.custom_json) next.custom_json = *input.custom_json;
    if (!next.phone && !next.email)
      throw ApiError::validation("phone", "a phone number or an email is required");
    if (same_content(current, next)) return std::nullopt;
    next.updated_at = now;
    auto activities = diff_activities(current, next, caller.user_id, now);
    return store::LeadChange{std::move(next), std::move(activities)};
  };
  auto result = co_await store_.update_lead(caller.organization_id, id, std::move(mutate));
  if (result.outcome == store::WriteOutcome::not_found) throw ApiError::not_found("lead not found");
  if (result.outcome == store::WriteOutcome::duplicate) throw_duplicate(result.existing_id);
  if (result.changed) announce(realtime::EventKind::lead_updated, *result.lead, previous_assignee);
  co_return std::move(*result.lead);
}

store::Task<void> LeadsService::remove(Principal caller, std::string id) {
  if (!is_manager(caller)) {
    co_await get(caller, id);  // 404 unless it is the agent's own lead
    throw ApiError::forbidden("agents may not delete leads");
  }
  // Read first for the audience of `lead:deleted` (the assigned agent hears it too).
  std::optional<Lead> before;
  if (events_) before = co_await store_.find_lead(caller.organization_id, id);
  Activity deleted = make_activity(id, "deleted", caller.user_id, "{}", now_ms());
  auto result = co_await store_.delete_lead(caller.organization_id, id, std::move(deleted));
  if (result.outcome == store::WriteOutcome::not_found) throw ApiError::not_found("lead not found");
  if (events_) {
    realtime::Event event;
    event.kind = realtime::EventKind::lead_deleted;
    event.organization_id = caller.organization_id;
    event.assignee = before && before->assigned_to ? *before->assigned_to : std::string();
    event.payload = json::build([&](json::Writer& w) {
      w.StartObject();
      json::field(w, "id", id);
      w.EndObject();
    });
    events_->publish(std::move(event));
  }
}

store::Task<std::int64_t> LeadsService::bulk_update(Principal caller, BulkRequest request) {
  if (!is_manager(caller)) throw ApiError::forbidden("only admins and managers may bulk update");
  if (request.ids.empty() || request.ids.size() > 1000)
    throw ApiError::validation("ids", "between 1 and 1000 ids are required");
  if (!request.status && !request.assigned_to && !request.tags)
    throw ApiError::validation("set", "nothing to change: set status, assignedTo or tags");
  if (request.status && !is_status(*request.status))
    throw ApiError::validation("set.status", "must be one of new, contacted, qualified, converted, lost");
  std::optional<std::vector<std::string>> tags;
  if (request.tags) tags = normalize_tags(*request.tags, "set.tags");
  std::optional<std::string> assignee;
  if (request.assigned_to) {
    assignee = *request.assigned_to;
    co_await check_assignee(caller, assignee, "set.assignedTo");
  }
  Millis now = now_ms();
  std::unordered_map<std::string, std::optional<std::string>> previous_assignees;
  store::LeadMutation mutate = [&](const Lead& current) -> std::optional<store::LeadChange> {
    previous_assignees[current.id] = current.assigned_to;
    Lead next = current;
    if (request.status) next.status = *request.status;
    if (request.assigned_to) next.assigned_to = assignee;
    if (tags) next.tags = *tags;
    if (same_content(current, next)) return std::nullopt;
    next.updated_at = now;
    auto activities = diff_activities(current, next, caller.user_id, now);
    return store::LeadChange{std::move(next), std::move(activities)};
  };
  auto changed = co_await store_.bulk_update(caller.organization_id, std::move(request.ids), std::move(mutate));
  for (const auto& lead : changed) announce(realtime::EventKind::lead_updated, lead, previous_assignees[lead.id]);
  co_return static_cast<std::int64_t>(changed.size());
}

namespace {

int page_limit(const std::optional<std::string>& raw) {
  if (!raw) return 50;
  int limit = 0;
  auto [end, ec] = std::from_chars(raw->data(), raw->data() + raw->size(), limit);
  if (ec != std::errc() || end != raw->data() + raw->size() || limit < 1 || limit > 200)
    throw ApiError::bad_request("limit: an integer from 1 to 200");
  return limit;
}

// An activity cursor is a lead cursor's Position bound to its lead: the text names the lead,
// so a cursor of one lead's timeline (or of the lead list) is refused on another.
std::string activity_cursor_text(const std::string& lead_id) { return "activities:" + lead_id; }

}  // namespace

store::Task<ActivitiesResult> LeadsService::activities(Principal caller, std::string id, ActivitiesRequest request) {
  int limit = page_limit(request.limit);
  std::optional<std::string> before;
  if (request.cursor) {
    auto position = cursors_.decode(*request.cursor, caller.organization_id);
    if (!position || position->text != activity_cursor_text(id))
      throw ApiError::bad_request("cursor: not a cursor of this lead's activities");
    before = position->id;
  }
  co_await get(caller, id);
  auto page = co_await store_.list_activities(caller.organization_id, id, limit, before);
  ActivitiesResult result{std::move(page.items), std::nullopt};
  if (page.next_before) {
    Position next;
    next.id = *page.next_before;
    next.text = activity_cursor_text(id);
    result.next_cursor = cursors_.encode(next, caller.organization_id);
  }
  co_return result;
}

store::Task<Activity> LeadsService::add_note(Principal caller, std::string id, std::string body) {
  std::string text = validate::text(body, "body", 10000);
  co_await get(caller, id);
  Activity note = make_activity(id, "note", caller.user_id, json::build([&](json::Writer& w) {
                                  w.StartObject();
                                  json::field(w, "body", text);
                                  w.EndObject();
                                }),
                                now_ms());
  co_await store_.insert_activity(caller.organization_id, note);
  co_return note;
}

LeadQuery LeadsService::parse_query(const Principal& caller, const ListRequest& r, bool paged) const {
  LeadQuery q;
  auto& f = q.filter;
  if (r.status) {
    if (!is_status(*r.status)) throw ApiError::bad_request("status: must be one of new, contacted, qualified, converted, lost");
    f.status = *r.status;
  }
  if (r.assigned_to) {
    if (*r.assigned_to == "me")
      f.assigned_to = caller.user_id;
    else if (*r.assigned_to == "none")
      f.unassigned = true;
    else if (r.assigned_to->empty() || r.assigned_to->size() > 64)
      throw ApiError::bad_request("assignedTo: a user id, me or none");
    else
      f.assigned_to = *r.assigned_to;
  }
  if (caller.role == Role::agent) {
    // Agents see only their own leads, whatever the filters say.
    bool asks_for_others = f.unassigned || (f.assigned_to && *f.assigned_to != caller.user_id);
    f.unassigned = false;
    f.assigned_to = asks_for_others ? std::string("-") : caller.user_id;  // "-" matches no user
  }
  if (r.source) f.source = *r.source;
  if (r.tag) f.tag = std::string(trim(*r.tag));
  if (r.q) {
    if (validate::utf8_length(*r.q) > 200) throw ApiError::bad_request("q: at most 200 characters");
    auto t = trim(*r.q);
    if (!t.empty()) f.q = std::string(t);
  }
  auto time_param = [](const std::optional<std::string>& raw, const char* name) -> std::optional<Millis> {
    if (!raw) return std::nullopt;
    auto ms = parse_rfc3339(*raw);
    if (!ms) throw ApiError::bad_request(std::string(name) + ": expected an RFC 3339 timestamp");
    return ms;
  };
  f.created_from = time_param(r.created_from, "createdFrom");
  f.created_to = time_param(r.created_to, "createdTo");
  if (r.sort) {
    auto sort = parse_sort(*r.sort);
    if (!sort) throw ApiError::bad_request("sort: one of -createdAt, createdAt, -updatedAt, updatedAt, name");
    q.sort = *sort;
  }
  if (!paged) return q;
  if (r.limit) q.limit = page_limit(r.limit);
  if (r.cursor) {
    auto position = cursors_.decode(*r.cursor, caller.organization_id);
    if (!position) throw ApiError::bad_request("cursor: not a cursor this server issued");
    if (position->sort != q.sort) throw ApiError::bad_request("cursor: it belongs to another sort order");
    q.after = std::move(position);
  }
  return q;
}

store::Task<ListResult> LeadsService::list(Principal caller, ListRequest request) {
  LeadQuery query = parse_query(caller, request, true);
  auto page = co_await store_.list_leads(caller.organization_id, std::move(query));
  ListResult result{std::move(page.items), std::nullopt};
  if (page.next) result.next_cursor = cursors_.encode(*page.next, caller.organization_id);
  co_return result;
}

store::Task<std::int64_t> LeadsService::count(Principal caller, ListRequest request) {
  LeadQuery query = parse_query(caller, request, false);
  auto n = co_await store_.count_leads(caller.organization_id, std::move(query.filter));
  co_return n;
}

store::Task<StatsResult> LeadsService::stats(Principal caller, ListRequest request, std::optional<std::string> days_text) {
  constexpr Millis kDay = 86'400'000;
  int days = 30;
  if (days_text) {
    auto [end, ec] = std::from_chars(days_text->data(), days_text->data() + days_text->size(), days);
    if (ec != std::errc() || end != days_text->data() + days_text->size() || days < 1 || days > 366)
      throw ApiError::bad_request("days: a whole number from 1 to 366");
  }
  LeadQuery query = parse_query(caller, request, false);
  const std::int64_t today = now_ms() / kDay;
  const std::int64_t first_day = today - days + 1;
  StatsResult result;
  result.stats = co_await store_.lead_stats(caller.organization_id, std::move(query.filter), first_day * kDay);
  for (const auto& [status, n] : result.stats.by_status) result.total += n;
  std::vector<std::int64_t> counts(static_cast<std::size_t>(days), 0);
  for (const auto& [day, n] : result.stats.created_per_day)
    if (day >= first_day && day <= today) counts[static_cast<std::size_t>(day - first_day)] += n;
  for (int i = 0; i < days; ++i)
    result.per_day.emplace_back(format_rfc3339((first_day + i) * kDay).substr(0, 10), counts[static_cast<std::size_t>(i)]);
  co_return result;
}

std::unique_ptr<store::LeadCursor> LeadsService::export_leads(const Principal& caller, const ListRequest& request,
                                                              store::LeadRenderer render) {
  if (!is_manager(caller)) throw ApiError::forbidden("only admins and managers may export");
  LeadQuery query = parse_query(caller, request, false);
  return store_.export_leads(caller.organization_id, std::move(query.filter), query.sort, std::move(render));
}

}  // namespace lms::leads
