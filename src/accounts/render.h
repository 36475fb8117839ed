// The JSON representations of users and organizations, exactly as the contract names them.
#pragma once

#include "accounts/model.h"
#include "common/json.h"

namespace lms::accounts {

void write_user(json::Writer& w, const User& user);
void write_organization(json::Writer& w, const Organization& org);
std::string user_json(const User& user);
std::string organization_json(const Organization& org);

}  // namespace lms::accounts
