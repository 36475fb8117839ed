// HTTP handlers of /api/auth/*: parse the body, call AuthService, render.
#pragma once

#include "auth/auth_service.h"
#include "http/router.h"

namespace lms::auth {

void add_auth_routes(http::Router& router, AuthService& auth);

}  // namespace lms::auth
