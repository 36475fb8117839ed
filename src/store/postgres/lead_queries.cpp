// The SQL text and value codecs of the PostgreSQL lead store (see lead_queries.h).
#include "store/postgres/lead_queries.h"

#include "common/ids.h"
#include "common/validate.h"

namespace lms::store::postgres::lead_queries {

using leads::Activity;
using leads::Lead;
using leads::SortKey;

namespace {

void append_quoted(std::string& out, std::string_view value) {
  out.push_back('"');
  for (char ch : value) {
    if (ch == '"' || ch == '\\') out.push_back('\\');
    out.push_back(ch);
  }
  out.push_back('"');
}

// Calls on_element(raw, quoted) for each element of a one-dimensional array literal, `raw`
// being the element's text without its quotes (escapes still in it).
template <class OnElement>
void each_element(std::string_view text, OnElement&& on_element) {
  if (text.size() < 2 || text.front() != '{') return;
  std::size_t i = 1;
  const std::size_t end = text.size() - 1;  // the closing brace
  while (i < end) {
    if (text[i] == '"') {
      std::size_t j = i + 1;
      while (j < end && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      on_element(text.substr(i + 1, j - i - 1), true);
      i = j + 1;
    } else {
      std::size_t j = text.find(',', i);
      if (j == std::string_view::npos || j > end) j = end;
      on_element(text.substr(i, j - i), false);
      i = j;
    }
    if (i < end && text[i] == ',') ++i;
  }
}

std::string unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\' && i + 1 < raw.size()) ++i;
    out.push_back(raw[i]);
  }
  return out;
}

std::string escape_like(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char ch : text) {
    if (ch == '\\' || ch == '%' || ch == '_') out.push_back('\\');
    out.push_back(ch);
  }
  return out;
}

// The needle folded by the same ICU lower() as search_doc, then back in the column's
// collation: the trigram index only serves a LIKE in the collation it was built with.
std::string folded(const std::string& placeholder) {
  return "lower(" + placeholder + "::text COLLATE \"und-x-icu\") COLLATE \"default\"";
}

void append_search(Where& w, const std::string& q) {
  std::string needle = leads::phone_query_digits(q).value_or(q);
  if (validate::utf8_length(needle) >= 3) {
    w.sql += " AND l.search_doc LIKE ('%' || " + folded(w.add(escape_like(needle))) + " || '%')";
  } else {
    // Too short for trigrams: a plain substring test, which the planner runs while walking the
    // sort order (it stops once the page is full) rather than as a useless index scan.
    w.sql += " AND strpos(l.search_doc, " + folded(w.add(needle)) + ") > 0";
  }
}

bool descending(SortKey sort) { return sort == SortKey::created_desc || sort == SortKey::updated_desc; }

const char* sort_columns(SortKey sort) {
  switch (sort) {
    case SortKey::created_desc:
    case SortKey::created_asc: return "(l.created_at, l.id)";
    case SortKey::updated_desc:
    case SortKey::updated_asc: return "(l.updated_at, l.id)";
    case SortKey::name_asc: return "(l.name, l.id)";
  }
  return "";
}

}  // namespace

std::string text_array(const std::vector<std::string>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    append_quoted(out, values[i]);
  }
  out.push_back('}');
  return out;
}

std::string text_array(const std::vector<std::optional<std::string>>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    if (values[i])
      append_quoted(out, *values[i]);
    else
      out += "NULL";
  }
  out.push_back('}');
  return out;
}

std::string bigint_array(const std::vector<std::int64_t>& values) {
  std::string out = "{";
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) out.push_back(',');
    out += std::to_string(values[i]);
  }
  out.push_back('}');
  return out;
}

void array_views(std::string_view text, std::vector<std::string_view>& views, std::vector<std::string>& decoded) {
  views.clear();
  if (text.find('\\') == std::string_view::npos) {
    each_element(text, [&](std::string_view raw, bool quoted) {
      if (quoted || raw != "NULL") views.push_back(raw);
    });
    return;
  }
  decoded.clear();
  each_element(text, [&](std::string_view raw, bool quoted) {
    if (quoted || raw != "NULL") decoded.push_back(quoted ? unescape(raw) : std::string(raw));
  });
  views.assign(decoded.begin(), decoded.end());
}

std::vector<std::string> parse_text_array(std::string_view text) {
  std::vector<std::string_view> views;
  std::vector<std::string> decoded;
  array_views(text, views, decoded);
  return std::vector<std::string>(views.begin(), views.end());
}

bool is_storable(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    if (c == 0) return false;
    std::size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : (c >> 3) == 0x1e ? 4 : 0;
    if (len == 0 || i + len > text.size()) return false;
    std::uint32_t cp = len == 1 ? c : c & (0x3f >> (len - 1));
    for (std::size_t k = 1; k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xc0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) return false;
    i += len;
  }
  return true;
}

leads::LeadRow read_lead(const Result& r, int row, const std::string& org_id) {
  leads::LeadRow out;
  out.seq = r.integer(row, Col::seq);
  Lead& l = out.lead;
  l.id = r.str(row, Col::id);
  l.organization_id = org_id;
  l.name = r.str(row, Col::name);
  l.phone = r.opt(row, Col::phone);
  l.email = r.opt(row, Col::email);
  l.company = r.opt(row, Col::company);
  l.source = r.opt(row, Col::source);
  l.status = r.str(row, Col::status);
  l.assigned_to = r.opt(row, Col::assigned_to);
  l.tags = parse_text_array(r.text(row, Col::tags));
  l.custom_json = r.str(row, Col::custom);
  l.version = r.integer(row, Col::version);
  l.created_at = r.integer(row, Col::created_at);
  l.updated_at = r.integer(row, Col::updated_at);
  l.created_by = r.opt(row, Col::created_by);
  return out;
}

leads::Position position_of(const Result& r, int row, SortKey sort) {
  leads::Position at{sort, 0, {}, r.str(row, Col::id)};
  switch (sort) {
    case SortKey::name_asc: at.text = r.str(row, Col::name); break;
    case SortKey::updated_desc:
    case SortKey::updated_asc: at.number = r.integer(row, Col::updated_at); break;
    case SortKey::created_desc:
    case SortKey::created_asc: at.number = r.integer(row, Col::created_at); break;
  }
  return at;
}

std::string Where::add(Param value) {
  params.push_back(std::move(value));
  return "$" + std::to_string(params.size());
}

std::optional<Where> filter_where(const std::string& org_id, const leads::LeadFilter& f) {
  for (const auto* text : {&f.status, &f.assigned_to, &f.source, &f.tag, &f.q})
    if (*text && !is_storable(**text)) return std::nullopt;
  Where w;
  w.sql = "l.org = " + w.add(org_id);
  if (f.status) w.sql += " AND l.status = " + w.add(*f.status);
  if (f.assigned_to)
    w.sql += " AND l.assigned_to = " + w.add(*f.assigned_to);
  else if (f.unassigned)
    w.sql += " AND l.assigned_to IS NULL";
  if (f.source) w.sql += " AND l.source = " + w.add(*f.source);
  if (f.tag) w.sql += " AND l.tags @> ARRAY[" + w.add(*f.tag) + "::text]";
  if (f.q && !f.q->empty()) append_search(w, *f.q);
  if (f.created_from) w.sql += " AND l.created_at >= " + w.add(param(*f.created_from));
  if (f.created_to) w.sql += " AND l.created_at < " + w.add(param(*f.created_to));
  return w;
}

void append_after(Where& w, const leads::Position& after) {
  w.sql += " AND ";
  w.sql += sort_columns(after.sort);
  w.sql += descending(after.sort) ? " < (" : " > (";
  w.sql += after.sort == SortKey::name_asc ? w.add(after.text) : w.add(param(after.number));
  w.sql += ", " + w.add(after.id) + ")";
}

const char* order_by(SortKey sort) {
  // name is a "C" column: byte order, as on SQLite.
  switch (sort) {
    case SortKey::created_desc: return " ORDER BY l.created_at DESC, l.id DESC";
    case SortKey::created_asc: return " ORDER BY l.created_at, l.id";
    case SortKey::updated_desc: return " ORDER BY l.updated_at DESC, l.id DESC";
    case SortKey::updated_asc: return " ORDER BY l.updated_at, l.id";
    case SortKey::name_asc: return " ORDER BY l.name, l.id";
  }
  return "";
}

std::string page_sql(const char* columns, Where& where, SortKey sort, std::int64_t limit) {
  std::string sql = std::string("SELECT ") + columns + " FROM leads l WHERE " + where.sql + order_by(sort);
  return sql + " LIMIT " + where.add(param(limit));
}

Params find_duplicate_params(const std::string& org_id, const Lead& lead) {
  return Params{param(org_id), param(lead.phone), param(lead.email), param(lead.id)};
}

const char* const kInsertLead =
    "WITH l AS (INSERT INTO leads (id, org, name, phone, email, company, source, status, assigned_to, tags, custom, "
    "version, created_at, updated_at, created_by) "
    "SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::text, $8::text, $9::text, $10::text[], "
    "$11::text, $12::bigint, $13::bigint, $14::bigint, $15::text "
    "WHERE EXISTS (SELECT 1 FROM organizations WHERE id = $2::text) "
    "ON CONFLICT DO NOTHING RETURNING id) "
    "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at) "
    "SELECT $16::text, $2::text, $17::text, $18::text, $19::text, $20::text, $21::bigint FROM l RETURNING seq";

Params insert_lead_params(const Lead& l, const Activity& a) {
  return Params{param(l.id),          param(l.organization_id), param(l.name),         param(l.phone),
                param(l.email),       param(l.company),         param(l.source),       param(l.status),
                param(l.assigned_to), text_array(l.tags),       param(l.custom_json),  param(l.version),
                param(l.created_at),  param(l.updated_at),      param(l.created_by),   param(a.id),
                param(a.lead_id),     param(a.type),            param(a.actor_id),     param(a.data_json),
                param(a.created_at)};
}

const char* const kInsertLeads =
    "WITH v AS (SELECT * FROM unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::bigint[], $14::bigint[], $15::text[], "
    "$16::text[]) WITH ORDINALITY AS v(id, name, phone, email, company, source, status, assigned_to, tags, custom, "
    "version, created_at, updated_at, created_by, activity_id, ord)), "
    "l AS (INSERT INTO leads (id, org, name, phone, email, company, source, status, assigned_to, tags, custom, "
    "version, created_at, updated_at, created_by) "
    "SELECT v.id, $1::text, v.name, v.phone, v.email, v.company, v.source, v.status, v.assigned_to, v.tags::text[], "
    "v.custom, v.version, v.created_at, v.updated_at, v.created_by FROM v ORDER BY v.ord "
    "ON CONFLICT DO NOTHING RETURNING id) "
    "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at) "
    "SELECT a.activity_id, $1::text, a.id, $17::text, a.created_by, $18::text, a.created_at "
    // A batch that repeats an id inserts its first lead only: one activity per id.
    "FROM (SELECT DISTINCT ON (v.id) v.* FROM v JOIN l ON l.id = v.id ORDER BY v.id, v.ord) a ORDER BY a.ord";

Params insert_leads_params(const std::string& org_id, std::span<const Lead> leads, const std::string& activity_type,
                           const std::string& activity_data) {
  std::vector<std::string> ids, names, statuses, tags, customs, activity_ids;
  std::vector<std::optional<std::string>> phones, emails, companies, sources, assignees, creators;
  std::vector<std::int64_t> versions, created, updated;
  for (const auto& l : leads) {
    ids.push_back(l.id);
    names.push_back(l.name);
    phones.push_back(l.phone);
    emails.push_back(l.email);
    companies.push_back(l.company);
    sources.push_back(l.source);
    statuses.push_back(l.status);
    assignees.push_back(l.assigned_to);
    tags.push_back(text_array(l.tags));
    customs.push_back(l.custom_json);
    versions.push_back(l.version);
    created.push_back(l.created_at);
    updated.push_back(l.updated_at);
    creators.push_back(l.created_by);
    activity_ids.push_back(new_id_at(l.created_at));
  }
  return Params{param(org_id),           text_array(ids),       text_array(names),     text_array(phones),
                text_array(emails),      text_array(companies), text_array(sources),   text_array(statuses),
                text_array(assignees),   text_array(tags),      text_array(customs),   bigint_array(versions),
                bigint_array(created),   bigint_array(updated), text_array(creators),  text_array(activity_ids),
                param(activity_type),    param(activity_data)};
}

const char* const kWriteChanges =
    "WITH v AS (SELECT * FROM unnest($2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], "
    "$8::text[], $9::text[], $10::text[], $11::text[], $12::bigint[], $13::bigint[]) AS v(seq, name, phone, email, "
    "company, source, status, assigned_to, tags, custom, version, updated_at)), "
    "u AS (UPDATE leads l SET name = v.name, phone = v.phone, email = v.email, company = v.company, "
    "source = v.source, status = v.status, assigned_to = v.assigned_to, tags = v.tags::text[], custom = v.custom, "
    "version = v.version, updated_at = v.updated_at FROM v WHERE l.seq = v.seq AND l.org = $1::text RETURNING l.seq) "
    // u runs to completion although nothing reads it (as every data-modifying WITH does).
    "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at) "
    "SELECT a.id, $1::text, a.lead_id, a.type, a.actor_id, a.data, a.created_at FROM unnest($14::text[], "
    "$15::text[], $16::text[], $17::text[], $18::text[], $19::bigint[]) WITH ORDINALITY AS a(id, lead_id, type, "
    "actor_id, data, created_at, ord) ORDER BY a.ord";

Params write_changes_params(const std::string& org_id, const std::vector<SeqLead>& leads,
                            const std::vector<Activity>& activities) {
  std::vector<std::int64_t> seqs, versions, updated, activity_times;
  std::vector<std::string> names, statuses, tags, customs;
  std::vector<std::optional<std::string>> phones, emails, companies, sources, assignees;
  for (const auto& [seq, l] : leads) {
    seqs.push_back(seq);
    names.push_back(l.name);
    phones.push_back(l.phone);
    emails.push_back(l.email);
    companies.push_back(l.company);
    sources.push_back(l.source);
    statuses.push_back(l.status);
    assignees.push_back(l.assigned_to);
    tags.push_back(text_array(l.tags));
    customs.push_back(l.custom_json);
    versions.push_back(l.version);
    updated.push_back(l.updated_at);
  }
  std::vector<std::string> activity_ids, lead_ids, types, data;
  std::vector<std::optional<std::string>> actors;
  for (const auto& a : activities) {
    activity_ids.push_back(a.id);
    lead_ids.push_back(a.lead_id);
    types.push_back(a.type);
    actors.push_back(a.actor_id);
    data.push_back(a.data_json);
    activity_times.push_back(a.created_at);
  }
  return Params{param(org_id),          bigint_array(seqs),     text_array(names),       text_array(phones),
                text_array(emails),     text_array(companies),  text_array(sources),     text_array(statuses),
                text_array(assignees),  text_array(tags),       text_array(customs),     bigint_array(versions),
                bigint_array(updated),  text_array(activity_ids), text_array(lead_ids),  text_array(types),
                text_array(actors),     text_array(data),       bigint_array(activity_times)};
}

const char* const kDeleteLead =
    "WITH d AS (DELETE FROM leads WHERE org = $1::text AND id = $2::text RETURNING id) "
    "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at) "
    "SELECT $3::text, $1::text, $4::text, $5::text, $6::text, $7::text, $8::bigint FROM d RETURNING seq";

Params delete_lead_params(const std::string& org_id, const std::string& lead_id, const Activity& a) {
  return Params{param(org_id), param(lead_id),  param(a.id),        param(a.lead_id),
                param(a.type), param(a.actor_id), param(a.data_json), param(a.created_at)};
}

const char* const kInsertActivity =
    "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at) "
    "SELECT $1::text, $2::text, $3::text, $4::text, $5::text, $6::text, $7::bigint "
    "WHERE EXISTS (SELECT 1 FROM organizations WHERE id = $2::text)";

Params insert_activity_params(const std::string& org_id, const Activity& a) {
  return Params{param(a.id),       param(org_id),      param(a.lead_id),   param(a.type),
                param(a.actor_id), param(a.data_json), param(a.created_at)};
}

}  // namespace lms::store::postgres::lead_queries
