// The PostgreSQL ImportStore: import jobs, their error rows and fills (the tables of migration
// 1), and the batch write. A batch is one transaction: read the org's leads that hold the
// batch's phones and emails (locked when dedupe=update may fill them), classify the rows in row
// order exactly as the SQLite engine does one row at a time (Planner, in memory), COPY the
// outcome into a per-connection staging table, and apply it with set-based statements ending
// in the job's checkpoint, which is fenced by the job's lease (store.h: a batch of an owner that
// lost the lease rolls back whole). A concurrent write that invalidates the plan (a phone taken
// meanwhile) surfaces as a unique violation or a short count, and the transaction runs again.
// Claims and renewals of leases are serialized by an advisory lock and measured by the
// database's clock.
#include "store/postgres/import_store.h"

#include <algorithm>
#include <map>
#include <stdexcept>
#include <tuple>
#include <unordered_map>
#include <unordered_set>

#include "common/ids.h"
#include "common/json.h"

namespace lms::store::postgres {

using imports::Dedupe;
using imports::ImportBatch;
using imports::ImportBatchResult;
using imports::ImportCounts;
using imports::ImportJob;
using imports::ImportRow;
using leads::Lead;

namespace {

constexpr const char* kJobColumns =
    "id, org_id, created_by, file_name, spool_path, header_csv, state, dedupe, assign, source, mapping, dry_run, "
    "total_rows, processed_rows, inserted, updated, duplicates, invalid, next_offset, next_row, rr_position, error, "
    "created_at, started_at, finished_at, reverted, kept, lease_owner, lease_expires";

ImportJob read_job(const Result& r, int i) {
  ImportJob j;
  j.id = r.str(i, 0);
  j.organization_id = r.str(i, 1);
  j.created_by = r.str(i, 2);
  j.file_name = r.str(i, 3);
  j.spool_path = r.str(i, 4);
  j.header_csv = r.str(i, 5);
  j.state = r.str(i, 6);
  j.dedupe = r.text(i, 7) == "update" ? Dedupe::update : Dedupe::skip;
  j.assign = r.str(i, 8);
  j.source = r.str(i, 9);
  j.mapping_json = r.str(i, 10);
  j.dry_run = r.boolean(i, 11);
  j.total_rows = r.opt_integer(i, 12);
  j.processed_rows = r.integer(i, 13);
  j.counts = {r.integer(i, 14), r.integer(i, 15), r.integer(i, 16), r.integer(i, 17)};
  j.next_offset = r.integer(i, 18);
  j.next_row = r.integer(i, 19);
  j.rr_position = r.integer(i, 20);
  j.error = r.opt(i, 21);
  j.created_at = r.integer(i, 22);
  j.started_at = r.opt_integer(i, 23);
  j.finished_at = r.opt_integer(i, 24);
  j.reverted = r.opt_integer(i, 25);
  j.kept = r.opt_integer(i, 26);
  j.lease_owner = r.opt(i, 27).value_or("");
  j.lease_expires = r.opt_integer(i, 28);
  return j;
}

std::vector<ImportJob> read_jobs(const Result& r) {
  std::vector<ImportJob> jobs;
  jobs.reserve(static_cast<std::size_t>(r.rows()));
  for (int i = 0; i < r.rows(); ++i) jobs.push_back(read_job(r, i));
  return jobs;
}

// The activity data of imports, byte for byte as the SQLite engine writes it.
std::string import_data(const std::string& job_id, const std::vector<std::string>* fields = nullptr) {
  return json::build([&](json::Writer& w) {
    w.StartObject();
    json::field(w, "importId", job_id);
    if (fields) {
      json::key(w, "fields");
      w.StartArray();
      for (const auto& f : *fields) json::string(w, f);
      w.EndArray();
    }
    w.EndObject();
  });
}

std::string json_array(const std::vector<std::string>& items) {
  return json::build([&](json::Writer& w) {
    w.StartArray();
    for (const auto& f : items) json::string(w, f);
    w.EndArray();
  });
}

// ---- text encodings: array literals and COPY's text format ----

// A text[] literal: every element quoted, so no element needs to be told from NULL or a delimiter.
std::string array_literal(const std::vector<std::string>& items) {
  std::string out = "{";
  for (std::size_t i = 0; i < items.size(); ++i) {
    if (i) out += ',';
    out += '"';
    for (char c : items[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  out += '}';
  return out;
}

// One line of COPY ... FROM STDIN (text format): columns separated by tabs, \N for NULL, and
// backslash, tab, newline and carriage return escaped inside values.
class CopyLine {
 public:
  explicit CopyLine(std::string& out) : out_(out) {}
  CopyLine(const CopyLine&) = delete;
  ~CopyLine() { out_ += '\n'; }

  CopyLine& text(std::string_view v) {
    separate();
    for (;;) {
      auto special = v.find_first_of("\\\t\n\r");
      out_.append(v.substr(0, special));
      if (special == std::string_view::npos) return *this;
      out_ += '\\';
      out_ += v[special] == '\t' ? 't' : v[special] == '\n' ? 'n' : v[special] == '\r' ? 'r' : '\\';
      v.remove_prefix(special + 1);
    }
  }
  CopyLine& maybe(const std::optional<std::string>& v) { return v ? text(*v) : null(); }
  CopyLine& integer(std::int64_t v) {
    separate();
    out_ += std::to_string(v);
    return *this;
  }
  CopyLine& null(int n = 1) {
    for (int i = 0; i < n; ++i) {
      separate();
      out_ += "\\N";
    }
    return *this;
  }

 private:
  void separate() {
    if (!first_) out_ += '\t';
    first_ = false;
  }
  std::string& out_;
  bool first_ = true;
};

// ---- the staging table and the statements that apply it ----

// One row per outcome. kind 'e': an error row (row, reason, cells); 'i': an inserted lead (its
// `imported` timeline entry is the job's, read with the timeline: no row per lead); 'f': the `updated` activity of one fill; 'u': a filled lead's final
// state (the fields this batch filled, its version before and after, the last fill's fields).
constexpr const char* kCreateStage =
    "SET LOCAL client_min_messages = warning; "
    "CREATE TEMP TABLE IF NOT EXISTS import_stage ("
    " ord integer NOT NULL, kind text NOT NULL, row bigint, reason text, cells text,"
    " lead_seq bigint, lead_id text, name text, phone text, email text, company text, source text,"
    " status text, assigned_to text, tags text[], custom text, version bigint, base_version bigint,"
    " created_at bigint, updated_at bigint, created_by text, fields text, activity_id text, activity_data text"
    ") ON COMMIT DELETE ROWS";
constexpr const char* kCopyStage = "COPY import_stage FROM STDIN";

constexpr const char* kOrgExists = "SELECT 1 FROM organizations WHERE id = $1";
constexpr const char* kLockJob = "SELECT 1 FROM import_jobs WHERE id = $1 FOR UPDATE";
// A batch's first look at the lease, unlocked: the fence that counts is the checkpoint's, at
// the end of the batch (so a renewal waits for the job row only while the batch commits).
constexpr const char* kLeaseOwner = "SELECT lease_owner FROM import_jobs WHERE id = $1";

// The organization's leads that hold any of the batch's phones ($2) or emails ($3).
#define LMS_MATCHING_LEADS                                                                                     \
  "SELECT seq, id, import_id, phone, email, company, source, cardinality(tags) > 0, version, assigned_to "     \
  "FROM leads WHERE org = $1 AND ((phone IS NOT NULL AND phone = ANY($2::text[])) OR "                         \
  "(email IS NOT NULL AND email = ANY($3::text[]))) ORDER BY seq"
constexpr const char* kMatchingLeads = LMS_MATCHING_LEADS;
constexpr const char* kMatchingLeadsLocked = LMS_MATCHING_LEADS " FOR UPDATE";
#undef LMS_MATCHING_LEADS

constexpr const char* kInsertLeads =
    "INSERT INTO leads (id, org, name, phone, email, company, source, status, assigned_to, tags, custom, version, "
    "created_at, updated_at, created_by, import_id) "
    "SELECT lead_id, $1::text, name, phone, email, company, source, status, assigned_to, tags, custom, version, "
    "created_at, updated_at, created_by, $2::text FROM import_stage WHERE kind = 'i' ORDER BY ord";
constexpr const char* kFillLeads =
    "UPDATE leads l SET phone = coalesce(l.phone, s.phone), email = coalesce(l.email, s.email), "
    "company = coalesce(l.company, s.company), source = coalesce(l.source, s.source), tags = coalesce(s.tags, l.tags), "
    "version = s.version, updated_at = s.updated_at "
    "FROM import_stage s WHERE s.kind = 'u' AND l.seq = s.lead_seq AND l.org = $1 AND l.version = s.base_version";
constexpr const char* kRecordFills =
    "INSERT INTO import_fills (job, lead, fields, version) "
    "SELECT $1::text, lead_seq, fields, version FROM import_stage WHERE kind = 'u' "
    "ON CONFLICT (job, lead) DO UPDATE SET fields = EXCLUDED.fields, version = EXCLUDED.version";
constexpr const char* kInsertActivities =
    "INSERT INTO activities (id, org, lead_id, type, actor_id, data, created_at) "
    "SELECT activity_id, $1::text, lead_id, 'updated', $2::text, activity_data, updated_at "
    "FROM import_stage WHERE kind = 'f' ORDER BY ord";
// The last error of a row number wins, as INSERT OR REPLACE does on SQLite.
constexpr const char* kRecordErrors =
    "INSERT INTO import_errors (job, row, reason, cells) "
    "SELECT DISTINCT ON (row) $1::text, row, reason, cells FROM import_stage WHERE kind = 'e' ORDER BY row, ord DESC "
    "ON CONFLICT (job, row) DO UPDATE SET reason = EXCLUDED.reason, cells = EXCLUDED.cells";
constexpr const char* kCheckpoint =
    "UPDATE import_jobs SET processed_rows = processed_rows + $1, inserted = inserted + $2, updated = updated + $3, "
    "duplicates = duplicates + $4, invalid = invalid + $5, next_offset = $6, next_row = $7, rr_position = $8 "
    "WHERE id = $9 AND lease_owner IS NOT DISTINCT FROM $10";

// ---- the plan of a batch ----

// A lead a row of the batch may run into: one the database holds, or one the batch inserts.
struct KnownLead {
  std::int64_t seq = 0;  // 0 for the batch's own
  std::string id;
  std::optional<std::string> import_id;
  std::optional<std::string> phone, email, company, source;
  bool has_tags = false;
  std::int64_t version = 0;
  std::optional<std::string> assigned_to;
  // dedupe=update: what this batch filled, and the state it leaves.
  std::int64_t base_version = 0;
  std::optional<std::string> filled_phone, filled_email, filled_company, filled_source;
  const std::vector<std::string>* filled_tags = nullptr;
  std::string last_fields;
  Millis updated_at = 0;
  int fills = 0;
};

KnownLead read_known(const Result& r, int i) {
  KnownLead k;
  k.seq = r.integer(i, 0);
  k.id = r.str(i, 1);
  k.import_id = r.opt(i, 2);
  k.phone = r.opt(i, 3);
  k.email = r.opt(i, 4);
  k.company = r.opt(i, 5);
  k.source = r.opt(i, 6);
  k.has_tags = r.boolean(i, 7);
  k.version = r.integer(i, 8);
  k.base_version = k.version;
  k.assigned_to = r.opt(i, 9);
  return k;
}

// What the batch does, ready to send: the staging rows and the figures to check and report.
struct BatchPlan {
  ImportCounts counts;
  std::int64_t rr = 0;
  std::map<std::string, ImportCounts> by_assignee;
  std::string stage;  // COPY text of import_stage
  std::int64_t inserts = 0, errors = 0, activities = 0, filled_leads = 0;
};

// The SQLite engine's row-by-row semantics over an in-memory view of the leads involved: each
// row sees the leads the rows before it inserted and the fields they filled.
class Planner {
 public:
  Planner(const ImportBatch& b, std::vector<KnownLead> known) : b_(b), known_(std::move(known)) {
    known_.reserve(known_.size() + b.rows.size());
    for (std::size_t i = 0; i < known_.size(); ++i) index(i);
    plan_.rr = b.rr_position;
    plan_.stage.reserve(b.rows.size() * 200);
  }

  BatchPlan run() {
    for (std::size_t i = 0; i < b_.rows.size(); ++i) apply(static_cast<std::int64_t>(i), b_.rows[i]);
    stage_filled_leads();
    return std::move(plan_);
  }

 private:
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  void index(std::size_t k) {
    if (known_[k].phone) phones_[*known_[k].phone] = k;
    if (known_[k].email) emails_[*known_[k].email] = k;
  }
  using Holders = std::unordered_map<std::string, std::size_t>;
  static std::size_t holder(const Holders& by, const std::optional<std::string>& v) {
    if (!v) return kNone;
    auto it = by.find(*v);
    return it == by.end() ? kNone : it->second;
  }
  // As find_existing: the lead with the row's phone, else the one with its email.
  std::size_t existing(const Lead& lead) const {
    auto k = holder(phones_, lead.phone);
    return k != kNone ? k : holder(emails_, lead.email);
  }

  void apply(std::int64_t ord, const ImportRow& row) {
    if (row.error) {
      ++plan_.counts.invalid;
      return error(ord, row, *row.error);
    }
    if (row.earlier_duplicate) {
      ++plan_.counts.duplicates;
      return error(ord, row, "duplicate of an earlier row of this file");
    }
    auto k = existing(row.lead);
    if (!b_.dry_run && k == kNone) return insert(ord, row);
    if (k == kNone) {  // a dry run: this row would be inserted
      ++plan_.counts.inserted;
      return;
    }
    if (known_[k].import_id == b_.job_id) {
      ++plan_.counts.duplicates;
      return error(ord, row, "duplicate of an earlier row of this file");
    }
    if (b_.dedupe == Dedupe::update && fill(ord, row, k)) {
      ++plan_.counts.updated;
      ++plan_.by_assignee[known_[k].assigned_to.value_or("")].updated;
      return;
    }
    ++plan_.counts.duplicates;
    error(ord, row, "duplicate of lead " + known_[k].id);
  }

  void insert(std::int64_t ord, const ImportRow& row) {
    const Lead& lead = row.lead;
    std::optional<std::string> assignee = lead.assigned_to;
    if (!b_.round_robin.empty()) {
      auto n = static_cast<std::int64_t>(b_.round_robin.size());
      assignee = b_.round_robin[static_cast<std::size_t>(plan_.rr % n)];
      ++plan_.rr;
    }
    ++plan_.counts.inserted;
    ++plan_.by_assignee[assignee.value_or("")].inserted;
    ++plan_.inserts;
    KnownLead mine;
    mine.id = lead.id;
    mine.import_id = b_.job_id;
    mine.phone = lead.phone;
    mine.email = lead.email;
    known_.push_back(std::move(mine));
    index(known_.size() - 1);

    CopyLine line(plan_.stage);
    line.integer(ord).text("i").null(4).text(lead.id).text(lead.name).maybe(lead.phone).maybe(lead.email);
    line.maybe(lead.company).maybe(lead.source).text(lead.status).maybe(assignee).text(array_literal(lead.tags));
    line.text(lead.custom_json).integer(lead.version).null().integer(lead.created_at).integer(lead.updated_at);
    line.maybe(lead.created_by).null(3);
  }

  // As fill_empty_fields on SQLite: the existing lead's empty fields that the row's own cells
  // have (source only from a source cell). Returns whether the lead was (or, in a dry run,
  // would be) updated; a filled phone or email that another lead holds fills nothing.
  bool fill(std::int64_t ord, const ImportRow& row, std::size_t k) {
    KnownLead& e = known_[k];
    const Lead& from = row.lead;
    std::vector<std::string> filled;
    const bool phone = !e.phone && from.phone, email = !e.email && from.email;
    if (phone) filled.emplace_back("phone");
    if (email) filled.emplace_back("email");
    const bool company = !e.company && from.company;
    if (company) filled.emplace_back("company");
    const bool source = row.source_from_file && !e.source && from.source;
    if (source) filled.emplace_back("source");
    const bool tags = !e.has_tags && !from.tags.empty();
    if (tags) filled.emplace_back("tags");
    if (filled.empty()) return false;
    if (b_.dry_run) return true;
    if ((phone && holder(phones_, from.phone) != kNone) || (email && holder(emails_, from.email) != kNone))
      return false;

    if (phone) e.phone = e.filled_phone = from.phone;
    if (email) e.email = e.filled_email = from.email;
    if (company) e.company = e.filled_company = from.company;
    if (source) e.source = e.filled_source = from.source;
    if (tags) {
      e.has_tags = true;
      e.filled_tags = &from.tags;
    }
    index(k);
    e.version += 1;
    e.updated_at = from.created_at;
    e.last_fields = json_array(filled);
    if (e.fills++ == 0) filled_.push_back(k);
    ++plan_.activities;

    CopyLine line(plan_.stage);
    line.integer(ord).text("f").null(4).text(e.id).null(12).integer(e.updated_at).null(2);
    line.text(new_id_at(e.updated_at)).text(import_data(b_.job_id, &filled));
    return true;
  }

  void stage_filled_leads() {
    auto ord = static_cast<std::int64_t>(b_.rows.size());
    for (std::size_t k : filled_) {
      const KnownLead& e = known_[k];
      CopyLine line(plan_.stage);
      line.integer(ord++).text("u").null(3).integer(e.seq).null(2).maybe(e.filled_phone).maybe(e.filled_email);
      line.maybe(e.filled_company).maybe(e.filled_source).null(2);
      if (e.filled_tags)
        line.text(array_literal(*e.filled_tags));
      else
        line.null();
      line.null().integer(e.version).integer(e.base_version).null().integer(e.updated_at).null();
      line.text(e.last_fields).null(2);
      ++plan_.filled_leads;
    }
  }

  void error(std::int64_t ord, const ImportRow& row, const std::string& reason) {
    ++plan_.errors;
    CopyLine line(plan_.stage);
    line.integer(ord).text("e").integer(row.row).text(reason).text(row.cells_csv).null(19);
  }

  const ImportBatch& b_;
  std::vector<KnownLead> known_;
  Holders phones_, emails_;
  std::vector<std::size_t> filled_;  // leads this batch filled, in the order of their first fill
  BatchPlan plan_;
};

// The batch's distinct phones and emails as text[] literals, for kMatchingLeads.
std::pair<std::string, std::string> batch_keys(const ImportBatch& b) {
  std::unordered_set<std::string> seen_phones, seen_emails;
  std::vector<std::string> phones, emails;
  for (const auto& row : b.rows) {
    if (row.error || row.earlier_duplicate) continue;
    if (row.lead.phone && seen_phones.insert(*row.lead.phone).second) phones.push_back(*row.lead.phone);
    if (row.lead.email && seen_emails.insert(*row.lead.email).second) emails.push_back(*row.lead.email);
  }
  return {array_literal(phones), array_literal(emails)};
}

// The statements that apply a plan, in order, and the affected counts they must report
// (-1: any).
struct Writes {
  std::vector<Statement> statements;
  std::vector<std::int64_t> expected;
  void add(const char* sql, Params params, std::int64_t expect = -1) {
    statements.push_back(Statement{sql, std::move(params)});
    expected.push_back(expect);
  }
};

// The fence's owner: NULL for "nobody holds the lease".
Param owner_param(const std::string& owner) {
  return owner.empty() ? std::nullopt : std::optional<std::string>(owner);
}

// Thrown inside a transaction whose fence refused it, so that it rolls back; apply_batch
// turns it into ImportBatchResult::lease_lost.
struct LeaseLost {};

Writes batch_writes(const ImportBatch& b, const BatchPlan& plan) {
  Writes w;
  if (plan.inserts > 0) w.add(kInsertLeads, Params{param(b.organization_id), param(b.job_id)}, plan.inserts);
  if (plan.filled_leads > 0) {
    w.add(kFillLeads, Params{param(b.organization_id)}, plan.filled_leads);
    w.add(kRecordFills, Params{param(b.job_id)});
  }
  if (plan.activities > 0)
    w.add(kInsertActivities, Params{param(b.organization_id), param(b.actor_id)}, plan.activities);
  if (plan.errors > 0) w.add(kRecordErrors, Params{param(b.job_id)});
  const ImportCounts& n = plan.counts;
  w.add(kCheckpoint, Params{param(static_cast<std::int64_t>(b.rows.size())), param(n.inserted), param(n.updated),
                            param(n.duplicates), param(n.invalid), param(b.next_offset), param(b.next_row),
                            param(plan.rr), param(b.job_id), owner_param(b.lease_owner)});
  return w;
}

// What makes Pool::transaction run the batch again (a few times): the plan met a concurrent
// write. From the third attempt on, the batch first holds off other writers of leads (readers
// go on) until it commits, so a stream of creates of its phones cannot make it fail.
PgError raced() {
  return PgError("an import batch met a concurrent write to the same leads; retrying", "40001", false);
}
constexpr int kAttemptsBeforeLock = 2;
constexpr const char* kHoldOffLeadWriters = "LOCK TABLE leads IN SHARE ROW EXCLUSIVE MODE";

ImportBatchResult batch_result(const BatchPlan& plan) {
  ImportBatchResult result{plan.counts, plan.rr, {}};
  for (const auto& [assignee, n] : plan.by_assignee) result.by_assignee.emplace_back(assignee, n);
  return result;
}

// ---- revert ----

constexpr const char* kDeleteUnchanged =
    "DELETE FROM leads WHERE import_id = $1 AND org = $2 AND version = 1 RETURNING seq, id";
constexpr const char* kCountKept = "SELECT count(*) FROM leads WHERE import_id = $1 AND org = $2";
// Empties the fields a fill recorded, on leads still at the version the fill left.
constexpr const char* kRestoreFills =
    "UPDATE leads l SET "
    "phone = CASE WHEN f.fields::jsonb ? 'phone' THEN NULL ELSE l.phone END, "
    "email = CASE WHEN f.fields::jsonb ? 'email' THEN NULL ELSE l.email END, "
    "company = CASE WHEN f.fields::jsonb ? 'company' THEN NULL ELSE l.company END, "
    "source = CASE WHEN f.fields::jsonb ? 'source' THEN NULL ELSE l.source END, "
    "tags = CASE WHEN f.fields::jsonb ? 'tags' THEN '{}' ELSE l.tags END, "
    "version = l.version + 1, updated_at = $3 "
    "FROM import_fills f WHERE f.job = $1 AND l.seq = f.lead AND l.org = $2 AND l.version = f.version "
    "RETURNING l.seq, l.id, f.fields";
constexpr const char* kCountFills = "SELECT count(*) FROM import_fills WHERE job = $1";
constexpr const char* kCopyActivities =
    "COPY activities (id, org, lead_id, type, actor_id, data, created_at) FROM STDIN";
constexpr const char* kMarkReverted =
    "UPDATE import_jobs SET state = 'reverted', reverted = $1, kept = $2 WHERE id = $3 AND org_id = $4";

// (seq, lead id, activity data) of the leads a revert touched, in seq order as SQLite visits them.
using Touched = std::vector<std::tuple<std::int64_t, std::string, std::string>>;

Touched touched(const Result& r, const std::string& job_id, bool fills) {
  Touched out;
  for (int i = 0; i < r.rows(); ++i) {
    std::string data;
    if (fills) {
      rapidjson::Document fields;
      fields.Parse(r.str(i, 2).c_str());
      std::vector<std::string> names;
      if (fields.IsArray())
        for (const auto& f : fields.GetArray())
          if (f.IsString()) names.emplace_back(f.GetString(), f.GetStringLength());
      data = import_data(job_id, &names);
    } else {
      data = import_data(job_id);
    }
    out.emplace_back(r.integer(i, 0), r.str(i, 1), std::move(data));
  }
  std::sort(out.begin(), out.end());
  return out;
}

void append_activities(std::string& out, const Touched& leads, const char* type, const std::string& org_id,
                       const std::string& actor_id, Millis now) {
  for (const auto& [seq, id, data] : leads) {
    CopyLine line(out);
    line.text(new_id_at(now)).text(org_id).text(id).text(type).text(actor_id).text(data).integer(now);
  }
}

}  // namespace

Task<void> PgImportStore::create_job(ImportJob j) {
  co_await pool_.with([&](Connection& c) -> Task<void> {
    Params p{param(j.id),          param(j.organization_id),
             param(j.created_by),  param(j.file_name),
             param(j.spool_path),  param(j.header_csv),
             param(j.state),       param(j.dedupe == Dedupe::update ? "update" : "skip"),
             param(j.assign),      param(j.source),
             param(j.mapping_json), param(j.dry_run),
             param(j.created_at)};
    co_await c.query(
        "INSERT INTO import_jobs (id, org_id, created_by, file_name, spool_path, header_csv, state, dedupe, assign, "
        "source, mapping, dry_run, created_at, ready) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, false)",
        std::move(p));
  });
}

Task<std::optional<ImportJob>> PgImportStore::find_job(std::string org_id, std::string job_id) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<ImportJob>> {
    Params p{param(job_id), param(org_id)};
    auto r = co_await c.query(std::string("SELECT ") + kJobColumns + " FROM import_jobs WHERE id = $1 AND org_id = $2",
                              std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return read_job(r, 0);
  });
}

Task<std::vector<ImportJob>> PgImportStore::list_jobs(std::string org_id, std::optional<std::string> created_by,
                                                      int limit) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::vector<ImportJob>> {
    Params p{param(org_id), param(created_by), param(limit)};
    auto r = co_await c.query(std::string("SELECT ") + kJobColumns +
                                  " FROM import_jobs WHERE org_id = $1 AND ($2::text IS NULL OR created_by = $2) "
                                  "ORDER BY created_at DESC, id DESC LIMIT $3",
                              std::move(p));
    co_return read_jobs(r);
  });
}

Task<std::vector<ImportJob>> PgImportStore::unfinished_jobs() {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::vector<ImportJob>> {
    auto r = co_await c.query(std::string("SELECT ") + kJobColumns +
                              " FROM import_jobs WHERE state IN ('queued', 'running') ORDER BY created_at, id");
    co_return read_jobs(r);
  });
}

namespace {

// Claims and renewals, the calls that make a lease live, take this lock (any constant the
// instances agree on), so they happen one after the other: a claim that saw an organization
// without a live lease cannot be overtaken by a renewal bringing one back.
constexpr const char* kLeaseLock = "SELECT pg_advisory_xact_lock(7301162025)";
// The database's clock in milliseconds, read once per statement (MATERIALIZED): every
// instance measures leases by the same clock.
#define LMS_DB_NOW "WITH now AS MATERIALIZED (SELECT (extract(epoch FROM clock_timestamp()) * 1000)::bigint AS ms) "

// The oldest open job that is queued or running, whose lease is free or expired, of an
// organization where no other job holds a live lease; a job row another transaction holds (a
// claim, a batch's checkpoint) is skipped rather than waited for.
constexpr const char* kClaim =
    LMS_DB_NOW
    ", candidate AS ("
    " SELECT c.id AS claimed, c.lease_owner AS previous FROM import_jobs c, now"
    " WHERE c.state IN ('queued', 'running') AND c.ready AND (c.lease_expires IS NULL OR c.lease_expires <= now.ms)"
    " AND NOT EXISTS (SELECT 1 FROM import_jobs o WHERE o.org_id = c.org_id AND o.id <> c.id"
    "   AND o.state IN ('queued', 'running') AND o.lease_expires > now.ms)"
    " ORDER BY c.created_at, c.id LIMIT 1 FOR UPDATE OF c SKIP LOCKED) "
    "UPDATE import_jobs j SET lease_owner = $1, lease_expires = now.ms + $2 FROM candidate, now "
    "WHERE j.id = candidate.claimed RETURNING ";
// Never brings an expired lease back: a claim may have counted on it being dead.
constexpr const char* kRenew =
    LMS_DB_NOW
    "UPDATE import_jobs SET lease_expires = now.ms + $1 FROM now "
    "WHERE id = $2 AND org_id = $3 AND lease_owner = $4 AND lease_expires > now.ms";
#undef LMS_DB_NOW

}  // namespace

Task<void> PgImportStore::open_job(std::string org_id, std::string job_id) {
  co_await pool_.with([&](Connection& c) -> Task<void> {
    Params p{param(job_id), param(org_id)};
    co_await c.query("UPDATE import_jobs SET ready = true WHERE id = $1 AND org_id = $2", std::move(p));
  });
}

Task<std::optional<imports::ClaimedJob>> PgImportStore::claim_job(std::string owner, Millis ttl) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<std::optional<imports::ClaimedJob>> {
    std::vector<Statement> s;
    s.push_back(Statement{kLeaseLock, {}});
    s.push_back(Statement{std::string(kClaim) + kJobColumns + ", candidate.previous", Params{param(owner), param(ttl)}});
    auto r = co_await c.pipeline(std::move(s));
    if (r[1].rows() == 0) co_return std::nullopt;
    co_return imports::ClaimedJob{read_job(r[1], 0), r[1].opt(0, 29).value_or("")};
  });
}

Task<bool> PgImportStore::renew_lease(std::string org_id, std::string job_id, std::string owner, Millis ttl) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<bool> {
    std::vector<Statement> s;
    s.push_back(Statement{kLeaseLock, {}});
    s.push_back(Statement{kRenew, Params{param(ttl), param(job_id), param(org_id), param(owner)}});
    auto r = co_await c.pipeline(std::move(s));
    co_return r[1].affected() == 1;
  });
}

Task<void> PgImportStore::release_lease(std::string org_id, std::string job_id, std::string owner) {
  co_await pool_.with([&](Connection& c) -> Task<void> {
    Params p{param(job_id), param(org_id), param(owner)};
    co_await c.query(
        "UPDATE import_jobs SET lease_owner = NULL, lease_expires = NULL WHERE id = $1 AND org_id = $2 "
        "AND lease_owner = $3",
        std::move(p));
  });
}

Task<void> PgImportStore::start_job(std::string org_id, std::string job_id, std::int64_t total_rows,
                                    Millis started_at) {
  co_await pool_.with([&](Connection& c) -> Task<void> {
    Params p{param(total_rows), param(started_at), param(job_id), param(org_id)};
    co_await c.query(
        "UPDATE import_jobs SET state = 'running', total_rows = $1, started_at = coalesce(started_at, $2) "
        "WHERE id = $3 AND org_id = $4 AND state IN ('queued', 'running')",
        std::move(p));
  });
}

Task<void> PgImportStore::reset_job(std::string org_id, std::string job_id, std::string lease_owner) {
  co_await pool_.transaction([&](Connection& c) -> Task<void> {
    Params p{param(job_id), param(org_id), owner_param(lease_owner)};
    auto reset = co_await c.query(
        "UPDATE import_jobs SET processed_rows = 0, inserted = 0, updated = 0, duplicates = 0, invalid = 0, "
        "next_offset = 0, next_row = 2, rr_position = 0 WHERE id = $1 AND org_id = $2 "
        "AND lease_owner IS NOT DISTINCT FROM $3",
        std::move(p));
    if (reset.affected() == 0) co_return;  // another organization's job, or the fence: its errors stay
    Params del{param(job_id)};
    co_await c.query("DELETE FROM import_errors WHERE job = $1", std::move(del));
  });
}

Task<ImportBatchResult> PgImportStore::apply_batch(ImportBatch batch) {
  const auto keys = batch_keys(batch);
  const bool may_fill = batch.dedupe == Dedupe::update && !batch.dry_run;
  int attempts = 0;
  std::optional<ImportBatchResult> applied;
  try {
    applied = co_await pool_.transaction([&](Connection& c) -> Task<ImportBatchResult> {
      if (++attempts > kAttemptsBeforeLock && !batch.dry_run) co_await c.exec(kHoldOffLeadWriters);
      std::vector<Statement> reads;
      reads.push_back(Statement{kOrgExists, Params{param(batch.organization_id)}});
      reads.push_back(Statement{kLeaseOwner, Params{param(batch.job_id)}});
      reads.push_back(Statement{may_fill ? kMatchingLeadsLocked : kMatchingLeads,
                                Params{param(batch.organization_id), param(keys.first), param(keys.second)}});
      auto read = co_await c.pipeline(std::move(reads));
      if (read[0].rows() == 0) throw std::logic_error("apply_batch: unknown organization");
      if (read[1].rows() == 0 || read[1].opt(0, 0).value_or("") != batch.lease_owner) throw LeaseLost{};
      std::vector<KnownLead> known;
      for (int i = 0; i < read[2].rows(); ++i) known.push_back(read_known(read[2], i));
      BatchPlan plan = Planner(batch, std::move(known)).run();

      if (!plan.stage.empty()) {
        co_await c.exec(kCreateStage);
        co_await c.copy_in(kCopyStage, std::move(plan.stage));
      }
      Writes writes = batch_writes(batch, plan);
      std::vector<Result> done;
      bool conflict = false;
      try {
        done = co_await c.pipeline(std::move(writes.statements));
      } catch (const PgError& e) {
        if (!e.unique_violation()) throw;
        conflict = true;  // a phone or email taken since the plan was made
      }
      // The fence: the checkpoint (the last write) found the job under another owner.
      if (!conflict && done.back().affected() == 0) throw LeaseLost{};
      for (std::size_t i = 0; !conflict && i < done.size(); ++i)
        conflict = writes.expected[i] >= 0 && done[i].affected() != writes.expected[i];
      if (conflict) throw raced();
      co_return batch_result(plan);
    });
  } catch (const LeaseLost&) {
  }
  if (applied) co_return std::move(*applied);
  ImportBatchResult lost;
  lost.lease_lost = true;
  lost.rr_position = batch.rr_position;
  co_return lost;
}

Task<bool> PgImportStore::finish_job(std::string org_id, std::string job_id, std::string state,
                                     std::optional<std::string> error, Millis finished_at, std::string lease_owner) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<bool> {
    Params p{param(state), param(error), param(finished_at), param(job_id), param(org_id), owner_param(lease_owner)};
    auto finished = co_await c.query(
        "UPDATE import_jobs SET state = $1, error = $2, finished_at = $3, lease_owner = NULL, lease_expires = NULL "
        "WHERE id = $4 AND org_id = $5 AND lease_owner IS NOT DISTINCT FROM $6",
        std::move(p));
    if (finished.affected() == 0) co_return false;
    // The rows that matter later (errors, fills) are in their tables; the file is done with.
    Params del{param(job_id)};
    co_await c.query("DELETE FROM import_uploads WHERE job = $1", std::move(del));
    co_return true;
  });
}

Task<std::vector<imports::ImportError>> PgImportStore::errors(std::string org_id, std::string job_id,
                                                              std::int64_t after_row, int limit) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::vector<imports::ImportError>> {
    Params p{param(job_id), param(after_row), param(limit), param(org_id)};
    auto r = co_await c.query(
        "SELECT row, reason, cells FROM import_errors WHERE job = $1 AND row > $2 "
        "AND EXISTS (SELECT 1 FROM import_jobs WHERE id = $1 AND org_id = $4) ORDER BY row LIMIT $3",
        std::move(p));
    std::vector<imports::ImportError> out;
    out.reserve(static_cast<std::size_t>(r.rows()));
    for (int i = 0; i < r.rows(); ++i) out.push_back({r.integer(i, 0), r.str(i, 1), r.str(i, 2)});
    co_return out;
  });
}

namespace {

// bytea in the text format: \x and two hex digits per byte.
std::string bytea_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out = "\\x";
  out.reserve(2 + bytes.size() * 2);
  for (unsigned char c : bytes) {
    out.push_back(digits[c >> 4]);
    out.push_back(digits[c & 15]);
  }
  return out;
}

int hex_value(char c) { return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10; }

std::string bytea_bytes(std::string_view hex) {
  if (hex.size() < 2 || hex.substr(0, 2) != "\\x") throw std::runtime_error("bytea not in hex format");
  std::string out;
  out.reserve((hex.size() - 2) / 2);
  for (std::size_t i = 2; i + 1 < hex.size(); i += 2)
    out.push_back(static_cast<char>(hex_value(hex[i]) << 4 | hex_value(hex[i + 1])));
  return out;
}

}  // namespace

Task<bool> PgImportStore::keep_upload_part(std::string org_id, std::string job_id, int part, std::string bytes) {
  co_return co_await pool_.with([&](Connection& c) -> Task<bool> {
    Params p{param(job_id), param(part), bytea_hex(bytes), param(org_id)};
    auto r = co_await c.query(
        "INSERT INTO import_uploads (job, part, data) SELECT $1, $2, $3::bytea "
        "WHERE EXISTS (SELECT 1 FROM import_jobs WHERE id = $1 AND org_id = $4) "
        "ON CONFLICT (job, part) DO UPDATE SET data = excluded.data",
        std::move(p));
    co_return r.affected() == 1;
  });
}

Task<std::optional<std::string>> PgImportStore::upload_part(std::string org_id, std::string job_id, int part) {
  co_return co_await pool_.with([&](Connection& c) -> Task<std::optional<std::string>> {
    Params p{param(job_id), param(part), param(org_id)};
    auto r = co_await c.query(
        "SELECT u.data FROM import_uploads u JOIN import_jobs j ON j.id = u.job AND j.org_id = $3 "
        "WHERE u.job = $1 AND u.part = $2",
        std::move(p));
    if (r.rows() == 0) co_return std::nullopt;
    co_return bytea_bytes(r.text(0, 0));
  });
}

Task<imports::RevertResult> PgImportStore::revert(std::string org_id, std::string job_id, std::string actor_id,
                                                  Millis now) {
  co_return co_await pool_.transaction([&](Connection& c) -> Task<imports::RevertResult> {
    imports::RevertResult result;
    std::vector<Statement> s;
    s.push_back(Statement{kOrgExists, Params{param(org_id)}});
    s.push_back(Statement{kLockJob, Params{param(job_id)}});
    s.push_back(Statement{kDeleteUnchanged, Params{param(job_id), param(org_id)}});
    s.push_back(Statement{kCountKept, Params{param(job_id), param(org_id)}});
    s.push_back(Statement{kRestoreFills, Params{param(job_id), param(org_id), param(now)}});
    s.push_back(Statement{kCountFills, Params{param(job_id)}});
    auto r = co_await c.pipeline(std::move(s));
    if (r[0].rows() == 0) co_return result;  // as on SQLite; the org-scoped statements changed nothing
    const Touched deleted = touched(r[2], job_id, false), restored = touched(r[4], job_id, true);
    result.reverted = static_cast<std::int64_t>(deleted.size());
    result.restored = static_cast<std::int64_t>(restored.size());
    result.kept = r[3].integer(0, 0) + r[5].integer(0, 0) - result.restored;

    std::string activities;
    append_activities(activities, deleted, "deleted", org_id, actor_id, now);
    append_activities(activities, restored, "updated", org_id, actor_id, now);
    if (!activities.empty()) co_await c.copy_in(kCopyActivities, std::move(activities));
    Params mark{param(result.reverted), param(result.kept), param(job_id), param(org_id)};
    co_await c.query(kMarkReverted, std::move(mark));
    co_return result;
  });
}

}  // namespace lms::store::postgres
