// Operational endpoints: /healthz (the process serves), /readyz (dependencies answer and
// the server is not draining) and /metrics (Prometheus text; components add their samples).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "http/router.h"
#include "store/store.h"

namespace lms::ops {

// `draining` tells whether the server is shutting down (readiness then fails).
// Appends Prometheus text-format samples (with their # HELP and # TYPE lines) to `out`.
using MetricsSource = std::function<void(std::string& out)>;

// /healthz, /readyz and /metrics. `metrics` adds the samples of other components.
// `redis_up` (empty without Redis) adds the Redis check to /readyz.
void add_ops_routes(http::Router& router, store::Store& store, std::function<bool()> draining,
                    std::function<bool()> redis_up = {}, MetricsSource metrics = {});

struct LiveFigures;
// GET /api/ops/live (admins): the figures an operator watches, of the instance that answers.
void add_live_route(http::Router& router, std::function<LiveFigures()> live, std::string instance);

// Writes one gauge with its # HELP and # TYPE lines.
void write_gauge(std::string& out, std::string_view name, std::string_view help, double value);
// Writes one counter with its # HELP and # TYPE lines.
void write_counter(std::string& out, std::string_view name, std::string_view help, std::uint64_t value);

}  // namespace lms::ops
