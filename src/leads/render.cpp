#include "leads/render.h"

namespace lms::leads {

namespace {

void optional_field(json::Writer& w, std::string_view key, const std::optional<std::string>& value) {
  json::key(w, key);
  if (value)
    json::string(w, *value);
  else
    w.Null();
}

void append_cell(std::string& out, std::string_view value, bool guard_formula = true) {
  bool formula = guard_formula && !value.empty() &&
                 (value[0] == '=' || value[0] == '+' || value[0] == '-' || value[0] == '@' || value[0] == '\t' ||
                  value[0] == '\r');
  bool quote = formula;
  for (char c : value)
    if (c == ',' || c == '"' || c == '\r' || c == '\n') {
      quote = true;
      break;
    }
  if (!quote) {
    out += value;
    return;
  }
  out.push_back('"');
  if (formula) out.push_back('\'');
  for (char c : value) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  out.push_back('"');
}

}  // namespace

void write_lead(json::Writer& w, const Lead& l) {
  w.StartObject();
  json::field(w, "id", l.id);
  json::field(w, "organizationId", l.organization_id);
  json::field(w, "name", l.name);
  optional_field(w, "phone", l.phone);
  optional_field(w, "email", l.email);
  optional_field(w, "company", l.company);
  optional_field(w, "source", l.source);
  json::field(w, "status", l.status);
  optional_field(w, "assignedTo", l.assigned_to);
  json::key(w, "tags");
  w.StartArray();
  for (const auto& t : l.tags) json::string(w, t);
  w.EndArray();
  json::key(w, "custom");
  w.RawValue(l.custom_json.data(), l.custom_json.size(), rapidjson::kObjectType);
  json::key(w, "version");
  w.Int64(l.version);
  json::field(w, "createdAt", format_rfc3339(l.created_at));
  json::field(w, "updatedAt", format_rfc3339(l.updated_at));
  optional_field(w, "createdBy", l.created_by);
  w.EndObject();
}

std::string lead_json(const Lead& lead) {
  return json::build([&](json::Writer& w) { write_lead(w, lead); });
}

void write_activity(json::Writer& w, const Activity& a) {
  w.StartObject();
  json::field(w, "id", a.id);
  json::field(w, "leadId", a.lead_id);
  json::field(w, "type", a.type);
  optional_field(w, "actorId", a.actor_id);
  json::key(w, "data");
  w.RawValue(a.data_json.data(), a.data_json.size(), rapidjson::kObjectType);
  json::field(w, "createdAt", format_rfc3339(a.created_at));
  w.EndObject();
}

std::string activity_json(const Activity& activity) {
  return json::build([&](json::Writer& w) { write_activity(w, activity); });
}

void append_csv_row(std::string& out, const LeadView& l) {
  append_cell(out, l.id);
  out.push_back(',');
  append_cell(out, l.name);
  out.push_back(',');
  append_cell(out, l.phone, false);  // E.164 starts with '+' by definition
  out.push_back(',');
  append_cell(out, l.email);
  out.push_back(',');
  append_cell(out, l.company);
  out.push_back(',');
  append_cell(out, l.source);
  out.push_back(',');
  append_cell(out, l.status);
  out.push_back(',');
  append_cell(out, l.assigned_to);
  out.push_back(',');
  // Tags joined with ';' form one cell; it is quoted (and formula-guarded) as a whole.
  if (l.tags.size() == 1) {
    append_cell(out, l.tags[0]);
  } else if (!l.tags.empty()) {
    std::string joined;
    for (auto t : l.tags) {
      if (!joined.empty()) joined.push_back(';');
      joined += t;
    }
    append_cell(out, joined);
  }
  out.push_back(',');
  append_rfc3339(out, l.created_at);
  out.push_back(',');
  append_rfc3339(out, l.updated_at);
  out += "\r\n";
}

void append_csv_row(std::string& out, const Lead& l) {
  std::vector<std::string_view> tags(l.tags.begin(), l.tags.end());
  auto text = [](const std::optional<std::string>& v) { return v ? std::string_view(*v) : std::string_view(); };
  append_csv_row(out, LeadView{l.id, l.name, text(l.phone), text(l.email), text(l.company), text(l.source), l.status,
                               text(l.assigned_to), tags, l.created_at, l.updated_at});
}

}  // namespace lms::leads
