// The composition root: the only code that knows how lms is wired. It opens the store,
// builds the services over it, registers the routes, runs the I/O threads and shuts down
// in order (stop accepting → finish in-flight requests → stop threads → close the store).
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <filesystem>
#include <memory>
#include <string>

#include "accounts/accounts_service.h"
#include "auth/auth_service.h"
#include "http/rate_limit.h"
#include "ops/request_metrics.h"
#include "http/router.h"
#include "http/server.h"
#include "imports/import_service.h"
#include "leads/leads_service.h"
#include "ops/config.h"
#include "realtime/endpoint.h"
#include "realtime/redis_event_bus.h"
#include "store/store.h"
#include "web/desk.h"

namespace lms::ops {
class HealthMonitor;
}

namespace lms::app {

// Opens the store named by `db`: a SQLite file path, or a postgres:// URL (`pool` connections
// at most; `readers` and `lead_cache_entries` are SQLite's).
std::unique_ptr<store::Store> open_store(const std::string& db, unsigned readers, std::size_t lead_cache_entries = 0,
                                         std::size_t pool = 16);

// The token secret: the configured one, else the one the store keeps (PostgreSQL: in the
// database, shared by every instance) or kept beside the SQLite file, created once.
std::string load_or_create_secret(const ops::ServeConfig& config, store::Store& store);

// Runs a coroutine to completion on a private io_context, for the CLI and start-up tasks.
template <class T>
T block_on(boost::asio::awaitable<T> task) {
  boost::asio::io_context ctx;
  auto future = boost::asio::co_spawn(ctx, std::move(task), boost::asio::use_future);
  ctx.run();
  return future.get();
}

// Where uploads and import files are kept: `configured` when set, else `spool/` beside a
// SQLite database, ./data/spool with PostgreSQL.
std::filesystem::path spool_dir(const std::string& db, const std::string& configured = "");

// Everything the routes are wired to.
struct Services {
  store::Store& store;
  auth::AuthService& auth;
  accounts::AccountsService& accounts;
  leads::LeadsService& leads;
  imports::ImportService& imports;
  realtime::Endpoint& realtime;
  std::function<bool()> draining;
  const http::RateLimiter* limiter = nullptr;           // its counters go to /metrics
  const ops::RequestMetrics* request_metrics = nullptr;  // likewise
  const http::Server* server = nullptr;                  // likewise
  realtime::RedisEventBus* redis_events = nullptr;       // with --redis: /readyz and /metrics
  const ops::HealthMonitor* health = nullptr;           // likewise (eventloop_lag_seconds), /api/ops/live
  std::shared_ptr<const web::Desk> desk;                 // the web desk at /, or none
  std::string instance = "lms";                          // the node id, named by /api/ops/live
};

// The whole route table of the server (also used by tests to compare it with the OpenAPI
// document).
void register_routes(http::Router& router, Services& services);

// Serves until SIGTERM or SIGINT; returns the process exit code.
int serve(const ops::ServeConfig& config);

}  // namespace lms::app
