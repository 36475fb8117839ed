#include "ops/config.h"
#include "redis/client.h"

#include <CLI/CLI.hpp>

#include <charconv>
#include <limits>
#include <thread>

namespace lms::ops {

namespace {

std::optional<std::pair<std::uint64_t, std::string_view>> split_number(std::string_view text) {
  std::uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end == text.data()) return std::nullopt;
  return std::pair{value, text.substr(static_cast<std::size_t>(end - text.data()))};
}

template <class Duration>
CLI::Option* duration_option(CLI::App& app, const std::string& name, Duration& target, const std::string& env,
                             const std::string& help, const std::string& shown_default) {
  return app
      .add_option_function<std::string>(
          name,
          [&target, name](const std::string& text) {
            auto parsed = parse_duration(text);
            if (!parsed) throw CLI::ValidationError(name, "expected a duration such as 500ms, 10s, 15m, 1h or 30d");
            auto converted = std::chrono::duration_cast<Duration>(*parsed);
            if (converted.count() <= 0) throw CLI::ValidationError(name, "must be greater than zero in its unit");
            target = converted;
          },
          help)
      ->envname(env)
      ->default_str(shown_default);
}

CLI::Option* size_option(CLI::App& app, const std::string& name, std::size_t& target, const std::string& env,
                         const std::string& help, const std::string& shown_default) {
  return app
      .add_option_function<std::string>(
          name,
          [&target, name](const std::string& text) {
            auto parsed = parse_size(text);
            if (!parsed || *parsed == 0) throw CLI::ValidationError(name, "expected a size such as 16KB or 1MB");
            target = *parsed;
          },
          help)
      ->envname(env)
      ->default_str(shown_default);
}

}  // namespace

std::optional<std::chrono::milliseconds> parse_duration(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [value, unit] = *parts;
  std::uint64_t factor;
  if (unit.empty() || unit == "s") factor = 1000;
  else if (unit == "ms") factor = 1;
  else if (unit == "m") factor = 60'000;
  else if (unit == "h") factor = 3'600'000;
  else if (unit == "d") factor = 86'400'000;
  else return std::nullopt;
  if (value > (std::uint64_t{1} << 40) / factor) return std::nullopt;
  return std::chrono::milliseconds(static_cast<std::int64_t>(value * factor));
}

std::optional<std::size_t> parse_size(std::string_view text) {
  auto parts = split_number(text);
  if (!parts) return std::nullopt;
  auto [value, unit] = *parts;
  std::uint64_t factor;
  if (unit.empty() || unit == "B") factor = 1;
  else if (unit == "KB" || unit == "KiB" || unit == "k" || unit == "K") factor = 1024;
  else if (unit == "MB" || unit == "MiB" || unit == "M") factor = 1024 * 1024;
  else if (unit == "GB" || unit == "GiB" || unit == "G") factor = 1024ull * 1024 * 1024;
  else return std::nullopt;
  if (value > (std::uint64_t{1} << 50) / factor) return std::nullopt;
  return static_cast<std::size_t>(value * factor);
}

unsigned effective_threads(unsigned configured) {
  if (configured > 0) return configured;
  unsigned cores = std::thread::hardware_concurrency();
  return cores == 0 ? 2 : cores;
}

bool is_postgres_url(std::string_view db) {
  return db.rfind("postgres://", 0) == 0 || db.rfind("postgresql://", 0) == 0;
}

void add_db_option(CLI::App& app, std::string& db) {
  app.add_option("--db", db,
                 "SQLite database file, or a PostgreSQL server: postgres://user[:password]@host[:port]/database")
      ->envname("LMS_DB")
      ->capture_default_str();
}

void add_serve_options(CLI::App& app, ServeConfig& c) {
  app.add_option("--bind", c.bind, "address to listen on")->envname("LMS_BIND")->capture_default_str();
  app.add_option("--port", c.port, "TCP port; 0 picks a free one (printed in the first log line)")
      ->envname("LMS_PORT")
      ->capture_default_str();
  add_db_option(app, c.db);
  app.add_option("--redis", c.redis,
                 "Redis for many instances: redis://[:password@]host[:port][/db]; shares events, rate limits and "
                 "account changes between the instances on one database")
      ->envname("LMS_REDIS")
      ->check([](const std::string& v) { return redis::parse_url(v) ? std::string() : "takes redis://[:password@]host[:port][/db]"; });
  app.add_option("--node-id", c.node_id,
                 "this instance's name behind a load balancer ([a-z0-9], at most 16): real-time session ids start "
                 "with it so the proxy can route a session's requests to it (docs/deploy.md)")
      ->envname("LMS_NODE_ID")
      ->check([](const std::string& v) {
        if (v.empty() || v.size() > 16) return std::string("1 to 16 characters");
        for (char ch : v)
          if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9'))) return std::string("takes [a-z0-9] only");
        return std::string();
      });
  app.add_option("--token-secret", c.token_secret,
                 "HMAC key for access tokens, at least 32 bytes; default: generated once into lms.secret beside "
                 "the database")
      ->envname("LMS_TOKEN_SECRET");
  duration_option(app, "--access-ttl", c.access_ttl, "LMS_ACCESS_TTL", "access token lifetime", "15m");
  duration_option(app, "--refresh-ttl", c.refresh_ttl, "LMS_REFRESH_TTL", "refresh token lifetime", "30d");
  app.add_option("--threads", c.io_threads, "I/O threads; 0 = one per core")
      ->envname("LMS_THREADS")
      ->capture_default_str();
  app.add_option("--db-readers", c.db_readers, "database reader threads; 0 = one per core (at least 2)")
      ->envname("LMS_DB_READERS")
      ->capture_default_str();
  app.add_option("--db-pool", c.db_pool, "PostgreSQL connections at most (each instance)")
      ->envname("LMS_DB_POOL")
      ->check(CLI::Range(1, 1000))
      ->capture_default_str();
  app.add_option("--spool-dir", c.spool_dir,
                 "directory for uploads being received and import files; default: spool/ beside a SQLite "
                 "database, ./data/spool with PostgreSQL")
      ->envname("LMS_SPOOL_DIR");
  app.add_option("--lead-cache", c.lead_cache_entries,
                 "leads kept in memory for reads by id (about 1 KB each); 0 = no cache")
      ->envname("LMS_LEAD_CACHE")
      ->capture_default_str();
  app.add_option("--hash-threads", c.hash_threads, "password hashing threads; 0 = one per core")
      ->envname("LMS_HASH_THREADS")
      ->capture_default_str();
  size_option(app, "--max-header-size", c.header_limit, "LMS_MAX_HEADER_SIZE", "request header limit (431 beyond)",
              "16KB");
  size_option(app, "--max-body-size", c.body_limit, "LMS_MAX_BODY_SIZE", "JSON body limit (413 beyond)", "1MB");
  duration_option(app, "--header-timeout", c.header_timeout, "LMS_HEADER_TIMEOUT",
                  "time to receive a request's headers once it starts", "10s");
  duration_option(app, "--body-timeout", c.body_timeout, "LMS_BODY_TIMEOUT",
                  "time to receive a request body, and to write a response", "30s");
  duration_option(app, "--idle-timeout", c.idle_timeout, "LMS_IDLE_TIMEOUT",
                  "how long a keep-alive connection may wait for its next request", "60s");
  duration_option(app, "--shutdown-timeout", c.shutdown_timeout, "LMS_SHUTDOWN_TIMEOUT",
                  "on SIGTERM, how long in-flight requests may take to finish", "10s");
  app.add_option("--max-connections", c.max_connections,
                 "connections open at once, WebSockets included; beyond it new ones get 503 and are closed (0 = "
                 "only the descriptor limit)")
      ->envname("LMS_MAX_CONNECTIONS")
      ->capture_default_str();
  duration_option(app, "--drain-delay", c.drain_delay, "LMS_DRAIN_DELAY",
                  "on SIGTERM, how long /readyz answers 503 while requests are still served, so a load balancer "
                  "stops sending before the server stops accepting (e.g. 5s behind one)",
                  "0s");
  duration_option(app, "--ping-interval", c.ping_interval, "LMS_PING_INTERVAL",
                  "real-time heartbeat: how often the server pings each socket", "25s");
  duration_option(app, "--ping-timeout", c.ping_timeout, "LMS_PING_TIMEOUT",
                  "real-time heartbeat: how long a socket may take to answer a ping", "20s");
  duration_option(app, "--socket-connect-timeout", c.socket_connect_timeout, "LMS_SOCKET_CONNECT_TIMEOUT",
                  "real-time: how long a new session may take to send Socket.IO CONNECT before it is closed", "45s");
  duration_option(app, "--ws-handshake-timeout", c.ws_handshake_timeout, "LMS_WS_HANDSHAKE_TIMEOUT",
                  "real-time: time to finish the WebSocket opening handshake, and a polling session's upgrade "
                  "probe, before the connection is closed",
                  "10s");
  app.add_option("--max-pending-sockets", c.max_pending_sockets,
                 "real-time sessions open without Socket.IO CONNECT; beyond it new handshakes get 503 (0 = no cap)")
      ->envname("LMS_MAX_PENDING_SOCKETS")
      ->capture_default_str();
  size_option(app, "--socket-max-payload", c.socket_max_payload, "LMS_SOCKET_MAX_PAYLOAD",
              "largest real-time message or polling body a client may send", "1MB");
  size_option(app, "--socket-queue-limit", c.socket_queue_limit, "LMS_SOCKET_QUEUE_LIMIT",
              "bytes queued for one socket before it counts as too slow and is disconnected", "1MB");
  size_option(app, "--import-max-size", c.import_max_size, "LMS_IMPORT_MAX_SIZE",
              "largest CSV upload (413 beyond); uploads are spooled to disk, never held in memory", "100MB");
  app.add_option("--import-batch-rows", c.import_batch_rows, "rows committed per import batch (with the job's checkpoint)")
      ->envname("LMS_IMPORT_BATCH_ROWS")
      ->check(CLI::Range(1, 100000))
      ->capture_default_str();
  app.add_option("--import-workers", c.import_workers, "imports running at once (one per organization at a time)")
      ->envname("LMS_IMPORT_WORKERS")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  // Advanced, so not in --help: how long an instance that died keeps its import jobs from the others.
  duration_option(app, "--import-lease", c.import_lease, "LMS_IMPORT_LEASE",
                  "lease of a running import job; another instance takes the job over once it runs out", "15s")
      ->group("");
  auto rate_format = CLI::Validator(
      [](std::string& text) -> std::string {
        if (text == "off") return {};
        auto slash = text.find('/');
        bool digits = slash != std::string::npos && slash > 0 &&
                      text.find_first_not_of("0123456789") == slash;
        if (!digits || !parse_duration(std::string_view(text).substr(slash + 1)))
          return "expected REQUESTS/WINDOW (e.g. 5000/15m) or off";
        return {};
      },
      "N/WINDOW|off");
  app.add_option("--rate-api", c.rate_api,
                 "API rate limit per user (per client address before authentication), e.g. 5000/15m, or off")
      ->envname("LMS_RATE_API")
      ->check(rate_format)
      ->capture_default_str();
  app.add_option("--rate-auth", c.rate_auth, "rate limit of /api/auth/* per client address, e.g. 200/15m, or off")
      ->envname("LMS_RATE_AUTH")
      ->check(rate_format)
      ->capture_default_str();
  app.add_option("--rate-max-keys", c.rate_max_keys,
                 "users and addresses the rate limiter tracks at most (16 bytes each, about twice that in memory)")
      ->envname("LMS_RATE_MAX_KEYS")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--trust-proxy", c.trust_proxy,
                 "take the client address from the last X-Forwarded-For entry (only behind a proxy that sets it)")
      ->envname("LMS_TRUST_PROXY")
      ->capture_default_str();
  app.add_option("--http-metrics", c.http_metrics,
                 "count requests and their durations by route for /metrics (true/false)")
      ->envname("LMS_HTTP_METRICS")
      ->capture_default_str();
  duration_option(app, "--health-summary", c.health_summary, "LMS_HEALTH_SUMMARY",
                  "how often a one-line `health` summary is logged (0 = never)", "60s");
  duration_option(app, "--lag-warning", c.lag_warning, "LMS_LAG_WARNING",
                  "warn when an I/O thread runs its timer this late (event-loop lag)", "250ms");
  size_option(app, "--memory-warning", c.memory_warning, "LMS_MEMORY_WARNING",
              "warn when resident memory passes this (0 = never)", "0");
  app.add_option("--write-queue-warning", c.write_queue_warning,
                 "warn when this many database writes wait for the writer (writer saturated)")
      ->envname("LMS_WRITE_QUEUE_WARNING")
      ->check(CLI::Range(std::size_t{1}, std::numeric_limits<std::size_t>::max()))
      ->capture_default_str();
  app.add_option("--log-level", c.log_level, "trace, debug, info, warn, error or off")
      ->envname("LMS_LOG_LEVEL")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--log-requests", c.log_requests, "one log line per request (true/false)")
      ->envname("LMS_LOG_REQUESTS")
      ->capture_default_str();
  app.add_flag("--demo", c.demo, "on an empty database, create a demo organization and print its login")
      ->envname("LMS_DEMO");
  app.add_option("--web-dir", c.web_dir,
                 "serve the web desk from this folder (node web/build.mjs --outdir DIR) instead of the copy built in; "
                 "for working on the desk")
      ->envname("LMS_WEB_DIR");
}

}  // namespace lms::ops
