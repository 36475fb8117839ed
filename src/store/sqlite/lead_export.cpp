// Exports of the SQLite lead store: SqliteExportCursor and the RawPage members of
// SqliteLeadStore (scouting page ends, reading pages into an arena, rendering them).
#include <algorithm>
#include <deque>
#include <limits>

#include "store/sqlite/lead_rows.h"
#include "store/sqlite/lead_store.h"

namespace lms::store::sqlite {

using namespace detail;
using leads::SortKey;

namespace {

// Exports in pages of ReadTuning::export_page_rows, several read at once on the reader threads: a cheap scout
// walks the sort index to the end key of each page, so page N+1 can be read while page N is
// still being read, rendered or written. Pages are key ranges (after one key, up to and
// including the next), so a row inserted or deleted meanwhile shifts no page boundary: every
// lead that exists throughout the export appears exactly once, as with keyset pagination.
// At most kWindow pages are in memory, whatever the number of rows.
class SqliteExportCursor final : public LeadCursor {
 public:
  static constexpr std::size_t kWindow = 3;

  SqliteExportCursor(SqliteLeadStore& store, std::string org_id, leads::LeadQuery query, LeadRenderer render,
                     int page_rows)
      : store_(store),
        org_id_(std::move(org_id)),
        query_(std::move(query)),
        render_(std::move(render)),
        page_rows_(std::max(1, page_rows)) {}

  Task<std::string> next() override {
    for (;;) {
      while (!scouted_all_ && reading_.size() < kWindow) {
        auto end = co_await store_.scout_page_end(org_id_, query_, page_rows_);
        reading_.push_back(store_.start_raw_page(org_id_, query_, end));
        if (end)
          query_.after = std::move(end);
        else
          scouted_all_ = true;
      }
      if (reading_.empty()) co_return std::string{};
      auto pending = std::move(reading_.front());
      reading_.pop_front();
      auto page = co_await pending->get();
      if (page.rows.empty()) continue;  // its rows were deleted since it was scouted
      co_return co_await store_.render_raw_page(std::move(page), render_);
    }
  }

 private:
  SqliteLeadStore& store_;
  std::string org_id_;
  leads::LeadQuery query_;  // `after` is the end of the last page started
  LeadRenderer render_;
  int page_rows_;
  std::deque<std::shared_ptr<Pending<SqliteLeadStore::RawPage>>> reading_;
  bool scouted_all_ = false;
};

}  // namespace

SqliteLeadStore::RawPage SqliteLeadStore::read_raw_page(Connection& c, const std::string& org_id,
                                                        const leads::LeadQuery& query,
                                                        const std::optional<leads::Position>& through) {
  RawPage page;
  auto range = query;
  range.limit = std::numeric_limits<int>::max() - 1;  // a page ends at its scouted key, not at a count
  const auto expected_rows = static_cast<std::size_t>(engine_.read_tuning_.export_page_rows);
  page.arena.reserve(expected_rows * 128);
  page.rows.reserve(expected_rows);
  std::unordered_map<std::int64_t, std::string> assignees;  // a handful of agents per page
  page.next = walk_page(c, org_id, range, [&](const Statement& s) {
    RawPage::Row row{};
    auto put = [&](RawPage::Field field, std::string_view text) {
      row.offset[field] = static_cast<std::uint32_t>(page.arena.size());
      row.size[field] = static_cast<std::uint32_t>(text.size());
      page.arena += text;
    };
    put(RawPage::id, s.view(1));
    put(RawPage::name, s.view(2));
    put(RawPage::phone, s.view(3));
    put(RawPage::email, s.view(4));
    put(RawPage::company, s.view(5));
    put(RawPage::source, s.view(6));
    put(RawPage::status, s.view(7));
    std::string_view assignee;
    if (!s.is_null(8)) {
      auto key = s.integer(8);
      auto it = assignees.find(key);
      if (it == assignees.end()) it = assignees.emplace(key, user_id(c, key).value_or("")).first;
      assignee = it->second;
    }
    put(RawPage::assigned_to, assignee);
    put(RawPage::tags, s.view(9));
    row.created_at = s.integer(12);
    row.updated_at = s.integer(13);
    page.rows.push_back(row);
  }, through);
  return page;
}

std::shared_ptr<Pending<SqliteLeadStore::RawPage>> SqliteLeadStore::start_raw_page(
    std::string org_id, leads::LeadQuery query, std::optional<leads::Position> through) {
  return Pending<RawPage>::start(engine_.readers_.get_executor(), [this, org_id = std::move(org_id),
                                                                    query = std::move(query),
                                                                    through = std::move(through),
                                                                    ticket = SqliteStore::ReadTicket(engine_)]() {
    auto lease = engine_.borrow_reader();
    return read_raw_page(*lease.conn, org_id, query, through);
  });
}

Task<std::optional<leads::Position>> SqliteLeadStore::scout_page_end(std::string org_id, leads::LeadQuery query,
                                                                    int rows) {
  co_return co_await engine_.read([&](Connection& c) { return scout(c, org_id, query, rows); });
}

Task<std::string> SqliteLeadStore::render_raw_page(RawPage page, LeadRenderer render) {
  co_return co_await run_on(engine_.readers_.get_executor(), [&, ticket = SqliteStore::ReadTicket(engine_)]() {
    std::string text;
    text.reserve(page.arena.size() + page.rows.size() * 64);
    std::vector<std::string_view> tags;
    std::vector<std::string> decoded_tags;
    for (const auto& row : page.rows) {
      auto field = [&](RawPage::Field f) { return std::string_view(page.arena).substr(row.offset[f], row.size[f]); };
      tag_views(field(RawPage::tags), tags, decoded_tags);
      leads::LeadView view{field(RawPage::id),          field(RawPage::name),   field(RawPage::phone),
                           field(RawPage::email),       field(RawPage::company), field(RawPage::source),
                           field(RawPage::status),      field(RawPage::assigned_to), tags,
                           row.created_at,              row.updated_at};
      render(text, view);
    }
    return text;
  });
}

std::unique_ptr<LeadCursor> SqliteLeadStore::export_leads(std::string org_id, leads::LeadFilter filter, SortKey sort,
                                                          LeadRenderer render) {
  leads::LeadQuery query{std::move(filter), sort, 0, std::nullopt};
  return std::make_unique<SqliteExportCursor>(*this, std::move(org_id), std::move(query), std::move(render),
                                              engine_.read_tuning_.export_page_rows);
}

}  // namespace lms::store::sqlite
