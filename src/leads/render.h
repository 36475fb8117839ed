// Leads and activities as the contract renders them: JSON objects, and CSV rows for export.
#pragma once

#include <string>

#include "common/json.h"
#include "leads/model.h"

namespace lms::leads {

void write_lead(json::Writer& w, const Lead& lead);
std::string lead_json(const Lead& lead);
void write_activity(json::Writer& w, const Activity& activity);
std::string activity_json(const Activity& activity);

inline constexpr std::string_view kCsvHeader =
    "id,name,phone,email,company,source,status,assignedTo,tags,createdAt,updatedAt\r\n";
// Appends one RFC 4180 row (CRLF-terminated). Cells that a spreadsheet would run as a
// formula (leading =, +, -, @, tab or CR) are prefixed with an apostrophe.
void append_csv_row(std::string& out, const LeadView& lead);
void append_csv_row(std::string& out, const Lead& lead);

}  // namespace lms::leads
