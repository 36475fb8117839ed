// Server configuration: every setting has a flag and an LMS_* environment variable (the flag
// wins), a default that is safe in production, and a line in `lms serve --help`.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace CLI {
class App;
}

namespace lms::ops {

struct ServeConfig {
  std::string bind = "0.0.0.0";
  std::uint16_t port = 8080;
  std::string db = "./data/lms.db";
  std::string redis;    // redis://...: many instances share events, limits and account changes
  std::string node_id;  // behind a load balancer: prefixes real-time session ids
  std::string token_secret;  // empty: generated once and kept beside the database
  std::chrono::seconds access_ttl{15 * 60};
  std::chrono::seconds refresh_ttl{30 * 24 * 3600};
  unsigned io_threads = 0;    // 0: one per core
  unsigned db_readers = 0;    // 0: one per core, at least 2 (SQLite)
  std::size_t db_pool = 16;   // PostgreSQL connections at most
  std::string spool_dir;      // uploads and import files; empty: spool/ beside a SQLite file, else ./data/spool
  std::size_t lead_cache_entries = 100000;  // recently read leads kept in memory (SQLite engine); 0: none
  unsigned hash_threads = 0;  // 0: one per core
  std::size_t header_limit = 16 * 1024;
  std::size_t body_limit = 1024 * 1024;
  std::chrono::milliseconds header_timeout{10'000};
  std::chrono::milliseconds body_timeout{30'000};
  std::chrono::milliseconds idle_timeout{60'000};
  std::size_t max_connections = 0;  // connections at once (WebSockets too); 0: no cap but the descriptor limit
  std::chrono::milliseconds shutdown_timeout{10'000};
  std::chrono::milliseconds drain_delay{0};  // on SIGTERM: /readyz 503 while still serving
  std::chrono::milliseconds ping_interval{25'000};
  std::chrono::milliseconds ping_timeout{20'000};
  std::chrono::milliseconds socket_connect_timeout{45'000};
  std::chrono::milliseconds ws_handshake_timeout{10'000};
  std::size_t max_pending_sockets = 10'000;  // real-time sessions without CONNECT; 0: no cap
  std::size_t socket_max_payload = 1024 * 1024;
  std::size_t socket_queue_limit = 1024 * 1024;
  std::size_t import_max_size = 100u << 20;
  std::size_t import_batch_rows = 10000;
  unsigned import_workers = 2;
  std::chrono::milliseconds import_lease{15'000};  // an import job's lease (renewed every third of it)
  std::string rate_api = "5000/15m";  // per user (per client address before authentication); "off"
  std::string rate_auth = "200/15m";  // /api/auth/* per client address; "off"
  std::size_t rate_max_keys = 1'000'000;
  bool trust_proxy = false;
  bool http_metrics = true;  // http_requests_total and http_request_duration_seconds
  std::chrono::milliseconds health_summary{60'000};  // one `health` log line per interval; 0: none
  std::chrono::milliseconds lag_warning{250};        // I/O thread lag that is logged as a warning
  std::size_t memory_warning = 0;                    // RSS that is logged as a warning; 0: none
  std::size_t write_queue_warning = 1000;            // queued database writes logged as saturation
  std::string log_level = "info";
  bool log_requests = true;
  bool demo = false;  // on an empty database, create a demo organization and print its login
  std::string web_dir;  // serve the desk from this folder instead of the copy in the binary
};

// Registers the serve options on `app`, writing into `config` when parsed.
void add_serve_options(CLI::App& app, ServeConfig& config);
// Registers only the database option (for subcommands that just open the store).
void add_db_option(CLI::App& app, std::string& db);
// True when `db` names a PostgreSQL server (postgres:// or postgresql://) rather than a file.
bool is_postgres_url(std::string_view db);

// "250ms", "10s", "15m", "2h", "30d"; a bare number is seconds.
std::optional<std::chrono::milliseconds> parse_duration(std::string_view text);
// "512", "16KB", "1MB", "2GB" (powers of 1024); a bare number is bytes.
std::optional<std::size_t> parse_size(std::string_view text);

unsigned effective_threads(unsigned configured);

}  // namespace lms::ops
