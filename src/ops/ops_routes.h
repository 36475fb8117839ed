// Operational endpoints: /healthz (the process serves) and /readyz (dependencies answer and
// the server is not draining).
#pragma once

#include "http/router.h"
#include "http/server.h"
#include "store/store.h"

namespace lms::ops {

void add_ops_routes(http::Router& router, store::Store& store, const http::Server& server);

}  // namespace lms::ops
