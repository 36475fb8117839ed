#include "accounts/render.h"

namespace lms::accounts {

void write_user(json::Writer& w, const User& u) {
  w.StartObject();
  json::field(w, "id", u.id);
  json::field(w, "organizationId", u.organization_id);
  json::field(w, "name", u.name);
  json::field(w, "email", u.email);
  json::field(w, "role", role_name(u.role));
  json::key(w, "active");
  w.Bool(u.active);
  json::field(w, "createdAt", format_rfc3339(u.created_at));
  w.EndObject();
}

void write_organization(json::Writer& w, const Organization& o) {
  w.StartObject();
  json::field(w, "id", o.id);
  json::field(w, "name", o.name);
  json::field(w, "defaultCountry", o.default_country);
  json::field(w, "createdAt", format_rfc3339(o.created_at));
  w.EndObject();
}

std::string user_json(const User& user) {
  return json::build([&](json::Writer& w) { write_user(w, user); });
}

std::string organization_json(const Organization& org) {
  return json::build([&](json::Writer& w) { write_organization(w, org); });
}

}  // namespace lms::accounts
