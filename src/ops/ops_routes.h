// Operational endpoints: /healthz (the process serves) and /readyz (dependencies answer and
// the server is not draining).
#pragma once

#include <functional>

#include "http/router.h"
#include "store/store.h"

namespace lms::ops {

// `draining` tells whether the server is shutting down (readiness then fails).
void add_ops_routes(http::Router& router, store::Store& store, std::function<bool()> draining);

}  // namespace lms::ops
