// HTTP handlers of /api/leads: parse bodies and query strings, call LeadsService, render.
#pragma once

#include "http/router.h"
#include "leads/leads_service.h"

namespace lms::leads {

void add_lead_routes(http::Router& router, LeadsService& leads);

}  // namespace lms::leads
