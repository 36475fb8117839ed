// HTTP handlers of /api/users and /api/organization: parse, call AccountsService, render.
#pragma once

#include "accounts/accounts_service.h"
#include "http/router.h"

namespace lms::accounts {

void add_account_routes(http::Router& router, AccountsService& accounts);

}  // namespace lms::accounts
