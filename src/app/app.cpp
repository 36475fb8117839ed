#include "app/app.h"
#include "app/seed.h"

#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <sodium.h>
#include <sys/resource.h>
#include <sys/stat.h>

#include <atomic>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "accounts/accounts_routes.h"
#include "accounts/accounts_service.h"
#include "accounts/directory.h"
#include "auth/auth_routes.h"
#include "auth/auth_service.h"
#include "http/dispatcher.h"
#include "common/time.h"
#include "imports/imports_routes.h"
#include "leads/cursor.h"
#include "leads/leads_routes.h"
#include "leads/leads_service.h"
#include "http/redis_rate_limit.h"
#include "http/server.h"
#include "ops/health_monitor.h"
#include "ops/log.h"
#include "ops/ops_routes.h"
#include "realtime/redis_event_bus.h"
#include "redis/client.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"
#include "web/desk.h"

namespace lms::app {

namespace asio = boost::asio;

std::unique_ptr<store::Store> open_store(const std::string& db, unsigned readers, std::size_t lead_cache_entries,
                                         std::size_t pool) {
  if (ops::is_postgres_url(db)) return std::make_unique<store::postgres::PostgresStore>(db, pool);
  store::sqlite::ReadTuning tuning;
  tuning.lead_cache_entries = lead_cache_entries;
  return std::make_unique<store::sqlite::SqliteStore>(db, static_cast<int>(std::max(2u, ops::effective_threads(readers))),
                                                      tuning);
}

namespace {

std::string random_secret() {
  unsigned char bytes[32];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return hex;
}

}  // namespace

std::string load_or_create_secret(const ops::ServeConfig& config, store::Store& store) {
  if (!config.token_secret.empty()) {
    if (config.token_secret.size() < 32) throw std::runtime_error("--token-secret must be at least 32 bytes");
    return config.token_secret;
  }
  if (auto* pg = dynamic_cast<store::postgres::PostgresStore*>(&store))
    return block_on(pg->shared_setting("token_secret", random_secret()));
  auto dir = std::filesystem::path(config.db).parent_path();
  auto path = (dir.empty() ? std::filesystem::path(".") : dir) / "lms.secret";
  if (std::ifstream in{path}; in) {
    std::string secret;
    std::getline(in, secret);
    if (secret.size() >= 32) return secret;
    throw std::runtime_error("token secret file " + path.string() + " is shorter than 32 bytes");
  }
  const std::string hex = random_secret();
  std::filesystem::create_directories(path.parent_path());
  auto tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out{tmp, std::ios::trunc};
    out << hex << "\n";
    if (!out) throw std::runtime_error("cannot write " + tmp.string());
  }
  ::chmod(tmp.c_str(), 0600);
  std::filesystem::rename(tmp, path);
  return hex;
}

namespace {

// Every connection is a file descriptor: raise the soft limit to the hard one, as servers
// that hold many connections do, and report what we have.
rlim_t raise_file_limit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return 0;
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur;
}

// Tells a newcomer, in plain words beside the JSON log, where the desk is and how to sign in.
void print_welcome(const std::string& url, const std::string& email, const std::string& password, bool desk) {
  ops::flush_logs();
  std::string text = "\n  lms is ready.\n";
  if (desk) text += "  Open the lead desk in your browser:  " + url + "/\n";
  else text += "  This build has no web desk (-DLMS_WEB=OFF); the API is at " + url + "/api\n";
  if (!password.empty())
    text += "  Sign in as " + email + " with the password " + password + "\n" +
            "  (the demo agents, listed under Admin > Users, use the password agent-password)\n";
  else
    text += "  Sign in with your account (the demo admin is " + email + "; its password was printed at the first start)\n";
  text += "  Ctrl-C stops the server.\n\n";
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
}

// Creates a demo organization on an empty database and logs how to sign in; returns the
// password, or nothing when the database already had users.
std::string seed_demo(store::Store& store, auth::AuthService& auth, const auth::PasswordHasher& hasher, std::uint16_t port) {
  if (block_on(store.accounts().count_users()) > 0) return {};
  unsigned char bytes[9];
  randombytes_buf(bytes, sizeof bytes);
  std::string password = "demo-";
  static constexpr char alphabet[] = "abcdefghjkmnpqrstuvwxyz23456789";
  for (auto b : bytes) password.push_back(alphabet[b % (sizeof alphabet - 1)]);
  auto [session, org] = block_on(auth.register_organization({"Demo Sales", "Demo Admin", "admin@demo.lms", password, "US"}));
  auto seeded = seed_organization(store, org.id, 250, 3, hasher.hash("agent-password"), 250);
  ops::LogLine("demo organization created")
      .str("organization_id", org.id)
      .str("email", session.user.email)
      .str("password", password)
      .num("leads", seeded.inserted)
      .num("agents", seeded.agents)
      .str("login", "curl -s -X POST http://127.0.0.1:" + std::to_string(port) +
                        "/api/auth/login -H 'Content-Type: application/json' -d '{\"email\":\"admin@demo.lms\","
                        "\"password\":\"" + password + "\"}'")
      .info();
  return password;
}

}  // namespace

std::filesystem::path spool_dir(const std::string& db, const std::string& configured) {
  if (!configured.empty()) return configured;
  if (ops::is_postgres_url(db)) return std::filesystem::path("data") / "spool";
  auto dir = std::filesystem::path(db).parent_path();
  return (dir.empty() ? std::filesystem::path(".") : dir) / "spool";
}

http::UploadDecision upload_decision(const http::Request& request, const auth::TokenSigner& signer,
                                     const imports::ImportService& imports) {
  http::UploadDecision decision;
  std::string_view target = request.target();
  if (request.method() != http::bhttp::verb::post || target.substr(0, target.find('?')) != "/api/imports")
    return decision;
  // The token is checked before a byte of the upload is stored (the dispatcher checks it
  // again, with the user's state, once the body is in).
  auto header = request[http::bhttp::field::authorization];
  constexpr std::string_view prefix = "Bearer ";
  if (header.size() <= prefix.size() || !boost::beast::iequals(header.substr(0, prefix.size()), prefix) ||
      !signer.verify(header.substr(prefix.size()), now_ms())) {
    decision.reject = std::pair<int, std::string>{401, "unauthorized"};
    return decision;
  }
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  decision.target = http::UploadTarget{(imports.settings().spool_dir / (std::string("upload-") + hex + ".part")).string(),
                                       imports.settings().max_upload};
  return decision;
}

void register_routes(http::Router& router, Services& services) {
  std::function<bool()> redis_up;
  if (auto* bus = services.redis_events) redis_up = [bus] { return bus->healthy(); };
  ops::add_ops_routes(router, services.store, services.draining, redis_up,
                      [&store = services.store, &realtime = services.realtime, &imports = services.imports,
                       limiter = services.limiter, requests = services.request_metrics,
                       server = services.server, bus = services.redis_events, health = services.health](std::string& out) {
                        if (requests) requests->write(out);
                        if (server) server->write_metrics(out);
                        if (health) health->write_metrics(out);
                        store.write_metrics(out);
                        realtime.write_metrics(out);
                        imports.write_metrics(out);
                        if (limiter) limiter->write_metrics(out);
                        if (bus) bus->write_metrics(out);
                      });
  auth::add_auth_routes(router, services.auth);
  accounts::add_account_routes(router, services.accounts);
  leads::add_lead_routes(router, services.leads);
  imports::add_import_routes(router, services.imports);
  services.realtime.add_routes(router);
  ops::add_live_route(
      router, [health = services.health] { return health ? health->live() : ops::LiveFigures{}; }, services.instance);
  if (services.desk) web::register_desk_routes(router, services.desk);
}

namespace {

// The bus's origin tag: the node id, made unique per process so that a restarted instance
// never mistakes its predecessor's messages for its own.
std::string instance_name(const std::string& node_id) {
  unsigned char bytes[6];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return (node_id.empty() ? std::string("lms") : node_id) + "-" + hex;
}

// Account changes made on any instance reach every instance's caches: a changed or
// deactivated user is re-read from the store, a revoked session is refused at once.
void share_account_changes(realtime::EventBus& events, accounts::AccountDirectory& directory,
                           auth::SessionRevocations& revocations) {
  events.subscribe([&directory, &revocations](const realtime::Event& event) {
    if (event.kind == realtime::EventKind::user_changed || event.kind == realtime::EventKind::user_deactivated)
      directory.forget_user(event.user_id);
    else if (event.kind == realtime::EventKind::session_revoked)
      revocations.note(event.user_id, event.until);
  });
  revocations.on_revoke([&events](const std::string& session_id, Millis until) {
    realtime::Event event;
    event.kind = realtime::EventKind::session_revoked;
    event.user_id = session_id;
    event.until = until;
    events.publish(std::move(event));
  });
}

}  // namespace

int serve(const ops::ServeConfig& config) {
  const unsigned io_threads = ops::effective_threads(config.io_threads);
  const rlim_t file_limit = raise_file_limit();

  auto store = open_store(config.db, config.db_readers, config.lead_cache_entries, config.db_pool);
  const std::string secret = load_or_create_secret(config, *store);
  auth::TokenSigner signer(secret);
  leads::CursorCodec cursors(secret);
  auth::PasswordHasher hasher;
  asio::thread_pool hashing(ops::effective_threads(config.hash_threads));
  accounts::AccountDirectory directory(store->accounts(), std::chrono::seconds(5));
  auth::AuthService auth(store->accounts(), directory, signer, hasher, hashing.get_executor(),
                         auth::AuthSettings{config.access_ttl, config.refresh_ttl});

  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::io_context*> context_ptrs;
  for (unsigned i = 0; i < io_threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    context_ptrs.push_back(contexts.back().get());
  }
  // One instance: events stay in the process. Several (--redis): they travel through Redis,
  // and so do account changes and revocations, at once on every instance.
  realtime::LocalEventBus local_events;
  std::unique_ptr<realtime::RedisEventBus> redis_events;
  if (!config.redis.empty()) {
    redis_events = std::make_unique<realtime::RedisEventBus>(*contexts[0], *redis::parse_url(config.redis),
                                                             instance_name(config.node_id));
  }
  realtime::EventBus& events = redis_events ? static_cast<realtime::EventBus&>(*redis_events) : local_events;
  share_account_changes(events, directory, auth.revocations());

  accounts::AccountsService accounts(store->accounts(), directory, auth, &events);
  leads::LeadsService leads(store->leads(), directory, cursors, &events);
  imports::ImportService imports(*store, directory, &events,
                                 imports::ImportSettings{spool_dir(config.db, config.spool_dir), config.import_max_size,
                                                         config.import_batch_rows, config.import_workers,
                                                         config.import_lease});

  realtime::Hub hub(context_ptrs, events,
                    realtime::HubSettings{realtime::SessionLimits{config.ping_interval, config.ping_timeout,
                                                                  config.socket_max_payload, config.socket_queue_limit,
                                                                  config.socket_connect_timeout,
                                                                  config.ws_handshake_timeout},
                                        20, config.max_pending_sockets, config.node_id});
  realtime::Endpoint realtime(hub, [&auth](std::string_view token) { return auth.authenticate(token); });

  http::Router router;
  // With Redis the limiter has a link on every I/O thread: a decision never changes thread.
  std::vector<std::unique_ptr<redis::Connection>> limiter_links;
  std::unique_ptr<http::RateLimiter> limiter;
  if (redis_events) {
    std::vector<redis::Connection*> links;
    for (auto* context : context_ptrs) {
      limiter_links.push_back(std::make_unique<redis::Connection>(*context, *redis::parse_url(config.redis),
                                                                  redis::ConnectionSettings{}, "limiter"));
      links.push_back(limiter_links.back().get());
    }
    limiter = std::make_unique<http::RedisRateLimiter>(std::move(links), config.rate_max_keys);
  } else {
    limiter = std::make_unique<http::GcraLimiter>(config.rate_max_keys);
  }
  ops::RequestMetrics request_metrics;
  auto api_rule = http::parse_rate_rule(config.rate_api);
  auto auth_rule = http::parse_rate_rule(config.rate_auth);
  if (!api_rule || !auth_rule) throw std::runtime_error("--rate-api and --rate-auth take N/WINDOW or off");
  http::Dispatcher dispatcher(router, [&auth](std::string_view token) { return auth.authenticate(token); },
                              config.log_requests, http::RateLimits{limiter.get(), *api_rule, *auth_rule, config.trust_proxy},
                              config.http_metrics ? &request_metrics : nullptr);
  http::Server server(
      context_ptrs,
      http::ServerLimits{config.header_limit, config.body_limit, config.header_timeout, config.body_timeout,
                         config.idle_timeout, config.max_connections},
      [&dispatcher](http::Request& req, const http::ClientInfo& client) { return dispatcher.handle(req, client); },
      [](int status, std::string_view reason, const http::ClientInfo& client, std::string_view request_id) {
        ops::LogLine("request rejected")
            .num("status", status)
            .str("reason", reason)
            .str("request_id", request_id)
            .str("client", client.address)
            .info();
      });
  server.set_upgrade_handler(
      [&realtime](http::Request& request, boost::beast::tcp_stream& stream, http::ConnectionSlot& slot) {
        return realtime.take_upgrade(request, stream, slot);
      });
  server.set_upload_policy([&signer, &imports](const http::Request& request) {
    return upload_decision(request, signer, imports);
  });
  ops::HealthMonitor health(context_ptrs,
                            ops::HealthSettings{config.health_summary, config.memory_warning, config.lag_warning,
                                                config.write_queue_warning},
                            [&] {
                              ops::HealthSample s;
                              s.http_connections = server.open_connections();
                              s.realtime_connections = hub.connections();
                              s.requests = request_metrics.total(&s.duration_buckets);
                              s.db = store->load();
                              s.db.queued_peak = store->take_queue_peak();
                              return s;
                            });
  std::atomic<bool> shutting_down{false};  // set at SIGTERM, before a --drain-delay ends
  Services services{*store,   auth,     accounts, leads, imports, realtime,
                    [&server, &shutting_down] { return shutting_down.load() || server.draining(); },
                    limiter.get(), config.http_metrics ? &request_metrics : nullptr, &server, redis_events.get(), &health,
                    config.web_dir.empty() ? web::Desk::embedded() : web::Desk::from_directory(config.web_dir),
                    config.node_id.empty() ? std::string("lms") : config.node_id};
  register_routes(router, services);

  std::uint16_t port = server.listen(config.bind, config.port);
  ops::LogLine("listening")
      .str("address", config.bind)
      .num("port", port)
      .str("url", "http://" + (config.bind == "0.0.0.0" ? std::string("127.0.0.1") : config.bind) + ":" +
                      std::to_string(port))
      .str("db", config.db)
      .str("engine", store->engine())
      .str("redis", config.redis.empty() ? std::string() : redis::redacted(*redis::parse_url(config.redis)))
      .str("node_id", config.node_id)
      .num("io_threads", io_threads)
      .num("max_open_files", static_cast<std::int64_t>(file_limit))
      .str("version", LMS_VERSION)
      .info();
  ops::flush_logs();
  if (config.demo) {
    auto password = seed_demo(*store, auth, hasher, port);
    print_welcome("http://" + (config.bind == "0.0.0.0" ? std::string("127.0.0.1") : config.bind) + ":" + std::to_string(port),
                  "admin@demo.lms", password, services.desk && services.desk->available());
  }
  block_on(imports.resume());

  std::vector<asio::executor_work_guard<asio::io_context::executor_type>> guards;
  for (auto& ctx : contexts) guards.push_back(asio::make_work_guard(*ctx));
  if (redis_events) redis_events->start();
  for (auto& link : limiter_links) link->start();
  server.start();
  hub.start();
  health.start();

  asio::signal_set signals(*contexts[0], SIGINT, SIGTERM);
  auto stop_all = [&] {
    guards.clear();
    for (auto& ctx : contexts) ctx->stop();
  };
  asio::co_spawn(
      *contexts[0],
      [&]() -> asio::awaitable<void> {
        int signal = co_await signals.async_wait(asio::use_awaitable);
        // A second signal stops at once.
        signals.async_wait([&](boost::system::error_code ec, int) {
          if (!ec) stop_all();
        });
        shutting_down = true;
        health.stop();
        asio::steady_timer tick(*contexts[0]);
        if (config.drain_delay.count() > 0) {
          // /readyz says 503 while everything still works, so a load balancer polling it takes
          // this instance out of rotation before connections start being refused.
          ops::LogLine("not ready, still serving").num("signal", signal).num("drain_delay_ms", config.drain_delay.count()).info();
          tick.expires_after(config.drain_delay);
          co_await tick.async_wait(asio::use_awaitable);
        }
        ops::LogLine("draining").num("signal", signal).num("open_connections", static_cast<std::int64_t>(server.open_connections())).info();
        server.begin_drain();
        hub.close_all();  // sockets reconnect to another instance, or to this one after restart
        auto deadline = std::chrono::steady_clock::now() + config.shutdown_timeout;
        while (server.open_connections() > 0 && std::chrono::steady_clock::now() < deadline) {
          tick.expires_after(std::chrono::milliseconds(20));
          co_await tick.async_wait(asio::use_awaitable);
        }
        stop_all();
      },
      asio::detached);

  std::vector<std::thread> threads;
  for (unsigned i = 1; i < io_threads; ++i) threads.emplace_back([ctx = contexts[i].get()] { ctx->run(); });
  contexts[0]->run();
  for (auto& t : threads) t.join();
  // Handlers still queued when the contexts stopped (e.g. Hub::leave, posted to the session's
  // shard) can hold the last reference to a session and its WebSocket, whose socket belongs to
  // another context. Left queued, they are destroyed by their context's destructor, possibly
  // after the socket's context is gone (a crash at exit): run them now, while all live.
  for (int round = 0; round < 100; ++round) {
    std::size_t ran = 0;
    for (auto& ctx : contexts) {
      ctx->restart();
      ran += ctx->poll();
    }
    if (ran == 0) break;
  }

  std::size_t unfinished = server.open_connections();
  hashing.join();
  if (redis_events) redis_events->stop();  // their io_contexts no longer run
  for (auto& link : limiter_links) link->stop();
  imports.stop();  // between batches; unfinished jobs resume at the next start
  store->close();
  ops::LogLine("stopped").num("unfinished_connections", static_cast<std::int64_t>(unfinished)).info();
  return 0;
}

}  // namespace lms::app
