// socket_bench — a load client for Socket.IO v4 servers (Engine.IO protocol 4, Socket.IO
// protocol 5) over the websocket transport, written for bench/realtime.sh (issue 4).
//
// This file owns the whole tool: option parsing, the Engine.IO/Socket.IO client state machine
// (one C++20 coroutine per socket on Boost.Asio/Beast), the REST client that creates leads,
// and the statistics printed as one JSON line on stdout. Progress goes to stderr.
//
// Protocol, per socket (no polling, no upgrade):
//   GET ws://HOST:PORT/socket.io/?EIO=4&transport=websocket      (websocket handshake)
//   <- 0{"sid":..,"pingInterval":..,"pingTimeout":..}            Engine.IO open
//   -> 40{"token":"<token>"}                                      Socket.IO CONNECT, namespace /
//   <- 40{"sid":..}  connected   |   <- 44{"message":..}  connect_error (counted as refused)
//   <- 2  -> 3                                                    Engine.IO ping / pong
//   <- 42["lead:created",{..}]                                    event (matched by lead email)
//
// Modes:
//   hold    open --sockets sockets (--concurrency handshakes at a time), print a "ready" line
//           on stderr, keep them open for --duration seconds answering pings, then report how
//           many connected, how many were still open at the end, and how many of those had
//           heard from the server within pingInterval + pingTimeout (alive).
//   fanout  open the sockets, then --events times: POST /api/leads (keep-alive, admin token,
//           unique email and phone) and take the time the 201 answer arrived; every socket
//           timestamps the `lead:created` carrying that lead's email. Reports percentiles of
//           (receipt - REST answer) over all receipts and of the last receipt per event, and
//           the receipts that never came.
//
// Each socket may bind a source address (--source-addresses, round-robin) so that more than
// one address's ~28k ephemeral ports can reach one server port. --threads runs that many
// io_contexts, each on its own thread, sockets spread over them.
#include <boost/asio.hpp>
#include <boost/beast.hpp>
#include <boost/beast/websocket.hpp>
#include <rapidjson/document.h>

#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using net::use_awaitable;

// The sockets' coroutines run on a concrete io_context executor rather than asio's type-erased
// any_executor: every read completion goes through it, and the erasure costs CPU per receipt.
using Executor = net::io_context::executor_type;
template <typename T>
using Task = net::awaitable<T, Executor>;
constexpr net::use_awaitable_t<Executor> on_io{};

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
}

// ---------------------------------------------------------------------------------------------
// Options

struct Options {
  std::string mode;                           // "hold" or "fanout"
  std::string host = "127.0.0.1";
  std::uint16_t port = 0;
  std::string path = "/socket.io/";
  int sockets = 1000;
  int concurrency = 256;                      // handshakes in flight at once
  std::vector<std::string> sources;           // source addresses to bind, round-robin
  std::string token;                          // sent as Socket.IO auth {"token": ...}
  bool token_given = false;                   // --token is required (an empty one tests refusal)
  std::string rest_token;                     // Bearer token of POST /api/leads (default: token)
  int events = 20;
  double duration = 10;                       // hold: seconds to keep the sockets open
  int threads = 1;
  double interval = 0.5;                      // fanout: least seconds between two creates
  double event_timeout = 10;                  // fanout: how long to wait for every receipt
  double connect_timeout = 30;                // per socket: TCP connect + handshakes
  double warmup = 1;                          // fanout: pause between connecting and the first create
};

[[noreturn]] void usage(const char* why) {
  if (why) std::fprintf(stderr, "socket_bench: %s\n\n", why);
  std::fprintf(stderr,
      "usage: socket_bench hold|fanout --port N --token T [options]\n"
      "  --host H               server address (default 127.0.0.1)\n"
      "  --port N               server port (required)\n"
      "  --path P               Engine.IO path (default /socket.io/)\n"
      "  --sockets N            sockets to open (default 1000)\n"
      "  --concurrency N        handshakes in flight at once (default 256)\n"
      "  --source-addresses L   comma-separated local addresses to bind, round-robin\n"
      "  --token T              Socket.IO auth token (required; may be empty)\n"
      "  --rest-token T         Bearer token for POST /api/leads (default: --token)\n"
      "  --threads N            I/O threads, one io_context each (default 1)\n"
      "  --duration S           hold: seconds to hold the sockets (default 10)\n"
      "  --events K             fanout: leads to create (default 20)\n"
      "  --interval S           fanout: least seconds between creates (default 0.5)\n"
      "  --event-timeout S      fanout: wait for every receipt of one event (default 10)\n"
      "  --connect-timeout S    per-socket connect + handshake limit (default 30)\n"
      "  --warmup S             fanout: pause before the first create (default 1)\n");
  std::exit(2);
}

Options parse_options(int argc, char** argv) {
  Options o;
  if (argc < 2) usage(nullptr);
  o.mode = argv[1];
  if (o.mode == "-h" || o.mode == "--help") usage(nullptr);
  if (o.mode != "hold" && o.mode != "fanout") usage("the first argument is the mode: hold or fanout");
  for (int i = 2; i < argc; ++i) {
    std::string_view name = argv[i];
    if (name == "-h" || name == "--help") usage(nullptr);
    if (i + 1 >= argc) usage(("missing value for " + std::string(name)).c_str());
    std::string value = argv[++i];
    try {
      if (name == "--host") o.host = value;
      else if (name == "--port") o.port = static_cast<std::uint16_t>(std::stoi(value));
      else if (name == "--path") o.path = value;
      else if (name == "--sockets") o.sockets = std::stoi(value);
      else if (name == "--concurrency") o.concurrency = std::stoi(value);
      else if (name == "--token") o.token = value, o.token_given = true;
      else if (name == "--rest-token") o.rest_token = value;
      else if (name == "--threads") o.threads = std::stoi(value);
      else if (name == "--duration") o.duration = std::stod(value);
      else if (name == "--events") o.events = std::stoi(value);
      else if (name == "--interval") o.interval = std::stod(value);
      else if (name == "--event-timeout") o.event_timeout = std::stod(value);
      else if (name == "--connect-timeout") o.connect_timeout = std::stod(value);
      else if (name == "--warmup") o.warmup = std::stod(value);
      else if (name == "--source-addresses") {
        std::stringstream ss(value);
        for (std::string a; std::getline(ss, a, ',');)
          if (!a.empty()) o.sources.push_back(a);
      } else usage(("unknown option " + std::string(name)).c_str());
    } catch (const std::logic_error&) {
      usage(("bad value for " + std::string(name)).c_str());
    }
  }
  if (o.port == 0) usage("--port is required");
  if (!o.token_given) usage("--token is required");
  if (o.rest_token.empty()) o.rest_token = o.token;
  if (o.sockets < 0 || o.concurrency < 1 || o.threads < 1 || o.events < 0) usage("bad counts");
  return o;
}

// ---------------------------------------------------------------------------------------------
// Shared state of one run. Sockets run on several threads; everything they touch is atomic,
// except the error tally (rare, under a mutex).

struct Run {
  Options opt;
  std::vector<net::ip::address> sources;
  std::string run_tag;                        // makes the leads' emails unique to this run

  std::atomic<int> next_socket{0};            // next socket index to open
  std::atomic<int> handshakes_done{0};        // connected + refused + failed
  std::atomic<int> connected{0};              // got Socket.IO 40
  std::atomic<int> refused{0};                // got Socket.IO 44 (connect_error)
  std::atomic<int> failed{0};                 // TCP/websocket/protocol failure before 40
  std::atomic<int> lost{0};                   // connected, then closed (by the server or an error)
  std::atomic<long> pings{0};                 // Engine.IO pings answered
  std::atomic<long> other_events{0};          // 42 packets that were not ours
  std::atomic<long> duplicates{0};            // a second receipt of one event on one socket
  std::atomic<std::int64_t> first_connect_ns{0}, last_connect_ns{0};
  std::atomic<long> ping_window_ms{45000};    // pingInterval + pingTimeout from the open packet

  // last_seen[socket] = steady-clock ns of the socket's last packet (0: not connected or closed);
  // a socket is alive while it heard from the server within the ping window.
  std::unique_ptr<std::atomic<std::int64_t>[]> last_seen;

  // fanout: receipt[socket * events + k] = steady-clock ns of socket's receipt of event k (0: none)
  std::unique_ptr<std::atomic<std::int64_t>[]> receipt;
  std::unique_ptr<std::atomic<int>[]> received;  // receipts per event

  std::mutex errors_mutex;
  std::map<std::string, int> errors;          // "stage: message" -> count

  void error(const std::string& what) {
    std::lock_guard lock(errors_mutex);
    ++errors[what];
  }
};

// Pulls the number k out of an email "rt-<tag>-<k>@..." inside a lead:created packet.
std::optional<int> event_index(std::string_view packet, std::string_view marker) {
  auto at = packet.find(marker);
  if (at == std::string_view::npos) return std::nullopt;
  int k = 0;
  bool any = false;
  for (std::size_t i = at + marker.size(); i < packet.size() && packet[i] >= '0' && packet[i] <= '9'; ++i) {
    k = k * 10 + (packet[i] - '0');
    any = true;
  }
  if (!any) return std::nullopt;
  return k;
}

using WsStream = websocket::stream<beast::basic_stream<tcp, Executor>>;

// After the Socket.IO CONNECT: reads until the socket closes, answering pings and timestamping
// our lead:created events.
Task<void> read_loop(Run& run, std::unique_ptr<WsStream> ws, std::unique_ptr<beast::flat_buffer> buf,
                               int index) {
  const std::string marker = "\"rt-" + run.run_tag + "-";
  const std::string_view pong = "3";
  const int events = run.opt.events;
  try {
    for (;;) {
      buf->clear();
      co_await ws->async_read(*buf, on_io);
      const std::int64_t t = now_ns();
      run.last_seen[static_cast<std::size_t>(index)].store(t, std::memory_order_relaxed);
      std::string_view msg(static_cast<const char*>(buf->data().data()), buf->size());
      if (msg == "2") {  // Engine.IO ping: answer at once
        co_await ws->async_write(net::buffer(pong.data(), pong.size()), on_io);
        run.pings.fetch_add(1, std::memory_order_relaxed);
      } else if (msg.starts_with("42")) {
        std::optional<int> k;
        if (msg.starts_with("42[\"lead:created\"")) k = event_index(msg, marker);
        if (!k || *k >= events || !run.receipt) {
          run.other_events.fetch_add(1, std::memory_order_relaxed);
          continue;
        }
        auto& slot = run.receipt[static_cast<std::size_t>(index) * events + *k];
        std::int64_t expected = 0;
        if (slot.compare_exchange_strong(expected, t)) run.received[*k].fetch_add(1, std::memory_order_release);
        else run.duplicates.fetch_add(1, std::memory_order_relaxed);
      } else if (msg.starts_with("41")) {  // Socket.IO DISCONNECT from the server
        run.error("server sent DISCONNECT 41");
        break;
      } else if (msg.starts_with("1")) {  // Engine.IO close
        run.error("server sent Engine.IO close 1");
        break;
      }
      // anything else (6 noop, 44 after connect, binary) is ignored
    }
  } catch (const boost::system::system_error& e) {
    run.error(std::string("after connect: ") + e.code().message());
  }
  run.last_seen[static_cast<std::size_t>(index)].store(0, std::memory_order_relaxed);
  run.lost.fetch_add(1, std::memory_order_relaxed);
  beast::error_code ignored;
  beast::get_lowest_layer(*ws).socket().close(ignored);
}

// Reads one websocket message into buf and returns it as a view.
Task<std::string_view> read_message(WsStream& ws, beast::flat_buffer& buf) {
  buf.clear();
  co_await ws.async_read(buf, on_io);
  co_return std::string_view(static_cast<const char*>(buf.data().data()), buf.size());
}

// Opens socket `index` up to the Socket.IO CONNECT answer. On success, returns the stream so
// that its read loop can take over; on any failure, counts it and returns null.
Task<std::unique_ptr<WsStream>> open_socket(Run& run, int index, beast::flat_buffer& buf, const tcp::endpoint& server,
                                            const std::string& host_header, const std::string& target,
                                            const std::string& connect_packet) {
  auto ex = co_await net::this_coro::executor;
  auto ws = std::make_unique<WsStream>(ex);
  auto& stream = beast::get_lowest_layer(*ws);
  const auto limit = std::chrono::milliseconds(static_cast<long>(run.opt.connect_timeout * 1000));
  const char* stage = "tcp connect";
  try {
    auto& sock = stream.socket();
    sock.open(server.protocol());
    if (!run.sources.empty()) {
      // Choose the port at connect() time, per destination, not at bind() time: without this
      // every bound socket would take a port for good and exhaust the range sooner.
      int one = 1;
      ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      sock.bind(tcp::endpoint(run.sources[static_cast<std::size_t>(index) % run.sources.size()], 0));
    }
    stream.expires_after(limit);
    co_await stream.async_connect(server, on_io);
    stream.socket().set_option(tcp::no_delay(true));
    stream.expires_never();  // from here the websocket's own timeouts apply

    stage = "websocket handshake";
    websocket::stream_base::timeout timeouts{limit, limit, false};
    ws->set_option(timeouts);
    ws->read_message_max(1 << 20);
    co_await ws->async_handshake(host_header, target, on_io);
    ws->text(true);

    stage = "Engine.IO open";
    std::string_view open = co_await read_message(*ws, buf);
    if (!open.starts_with("0{")) throw std::runtime_error("expected 0{...}, got " + std::string(open.substr(0, 60)));
    // The heartbeat: like engine.io-client, a socket that heard nothing for pingInterval +
    // pingTimeout counts as dead (checked at the end of a hold).
    rapidjson::Document doc;
    doc.Parse(open.data() + 1, open.size() - 1);
    if (!doc.HasParseError() && doc.IsObject() && doc.HasMember("pingInterval") && doc.HasMember("pingTimeout") &&
        doc["pingInterval"].IsNumber() && doc["pingTimeout"].IsNumber())
      run.ping_window_ms.store(static_cast<long>(doc["pingInterval"].GetInt64() + doc["pingTimeout"].GetInt64()));

    stage = "Socket.IO connect";
    co_await ws->async_write(net::buffer(connect_packet), on_io);
    for (;;) {
      std::string_view reply = co_await read_message(*ws, buf);
      if (reply == "2") {  // a ping before the CONNECT answer
        co_await ws->async_write(net::buffer("3", 1), on_io);
        continue;
      }
      if (reply.starts_with("40")) break;
      if (reply.starts_with("44")) {
        run.refused.fetch_add(1, std::memory_order_relaxed);
        run.error("connect_error: " + std::string(reply.substr(2, 80)));
        co_return nullptr;
      }
      throw std::runtime_error("expected 40 or 44, got " + std::string(reply.substr(0, 60)));
    }
    // Connected: no websocket timer any more (arming one per read costs CPU on every receipt);
    // the heartbeat is checked through last_seen at the end of a hold.
    timeouts.handshake_timeout = websocket::stream_base::none();
    timeouts.idle_timeout = websocket::stream_base::none();
    ws->set_option(timeouts);
    const std::int64_t t = now_ns();
    std::int64_t zero = 0;
    run.first_connect_ns.compare_exchange_strong(zero, t);
    run.last_connect_ns.store(t, std::memory_order_relaxed);
    run.last_seen[static_cast<std::size_t>(index)].store(t, std::memory_order_relaxed);
    run.connected.fetch_add(1, std::memory_order_relaxed);
    co_return ws;
  } catch (const boost::system::system_error& e) {
    run.error(std::string(stage) + ": " + e.code().message());
  } catch (const std::exception& e) {
    run.error(std::string(stage) + ": " + e.what());
  }
  run.failed.fetch_add(1, std::memory_order_relaxed);
  co_return nullptr;
}

// One of --concurrency workers: opens sockets one after the other until all are taken, and
// hands each connected one to its own read loop.
Task<void> opener(Run& run, tcp::endpoint server) {
  const std::string host_header = run.opt.host + ":" + std::to_string(run.opt.port);
  const std::string target = run.opt.path + "?EIO=4&transport=websocket";
  std::string token_json;  // the token as a JSON string (escaped)
  for (char c : run.opt.token) {
    if (c == '"' || c == '\\') token_json += '\\';
    token_json += c;
  }
  const std::string connect_packet = "40{\"token\":\"" + token_json + "\"}";
  auto ex = co_await net::this_coro::executor;
  for (;;) {
    const int index = run.next_socket.fetch_add(1);
    if (index >= run.opt.sockets) break;
    auto buf = std::make_unique<beast::flat_buffer>();
    auto ws = co_await open_socket(run, index, *buf, server, host_header, target, connect_packet);
    run.handshakes_done.fetch_add(1, std::memory_order_release);
    if (ws) net::co_spawn(ex, read_loop(run, std::move(ws), std::move(buf), index), net::detached);
  }
}

// ---------------------------------------------------------------------------------------------
// REST client (fanout): one keep-alive connection, driven by the main thread's own io_context
// so that the time of the 201 answer is taken as soon as it is read.

struct Created {
  bool ok = false;
  int status = 0;
  std::int64_t sent_ns = 0, answered_ns = 0;
  std::string detail;
};

class RestClient {
 public:
  explicit RestClient(const Options& opt) : opt_(opt) {}

  Created post_lead(const std::string& body) {
    Created result;
    net::co_spawn(ioc_, post(body, result), net::detached);
    ioc_.restart();
    ioc_.run();
    return result;
  }

 private:
  net::awaitable<void> post(std::string body, Created& out) {
    for (int attempt = 0; attempt < 2; ++attempt) {  // one retry on a fresh connection
      try {
        if (!stream_) {
          stream_ = std::make_unique<beast::tcp_stream>(ioc_);
          stream_->expires_after(std::chrono::seconds(10));
          co_await stream_->async_connect(tcp::endpoint(net::ip::make_address(opt_.host), opt_.port), use_awaitable);
          stream_->socket().set_option(tcp::no_delay(true));
        }
        http::request<http::string_body> req{http::verb::post, "/api/leads", 11};
        req.set(http::field::host, opt_.host + ":" + std::to_string(opt_.port));
        req.set(http::field::authorization, "Bearer " + opt_.rest_token);
        req.set(http::field::content_type, "application/json");
        req.keep_alive(true);
        req.body() = body;
        req.prepare_payload();
        stream_->expires_after(std::chrono::seconds(30));
        out.sent_ns = now_ns();
        co_await http::async_write(*stream_, req, use_awaitable);
        http::response<http::string_body> res;
        co_await http::async_read(*stream_, buffer_, res, use_awaitable);
        out.answered_ns = now_ns();
        out.status = static_cast<int>(res.result_int());
        out.ok = out.status == 201;
        if (!out.ok) out.detail = res.body().substr(0, 200);
        if (!res.keep_alive()) stream_.reset();
        co_return;
      } catch (const boost::system::system_error& e) {
        out.detail = e.code().message();
        stream_.reset();
        buffer_.clear();
      }
    }
  }

  const Options& opt_;
  net::io_context ioc_;
  std::unique_ptr<beast::tcp_stream> stream_;
  beast::flat_buffer buffer_;
};

// ---------------------------------------------------------------------------------------------
// Reporting

long rss_kb_of_self() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// CPU seconds (user + system) this process has used.
double cpu_seconds_of_self() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

// Nearest-rank percentile of sorted values.
double percentile(const std::vector<double>& sorted, double p) {
  if (sorted.empty()) return NAN;
  std::size_t rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(sorted.size())));
  return sorted[std::min(sorted.size() - 1, rank == 0 ? 0 : rank - 1)];
}

std::string json_number(double v) {
  if (std::isnan(v)) return "null";
  char b[64];
  std::snprintf(b, sizeof b, "%.3f", v);
  return b;
}

std::string json_string(std::string_view s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\', out += c;
    else if (static_cast<unsigned char>(c) < 0x20) {
      char b[8];
      std::snprintf(b, sizeof b, "\\u%04x", c);
      out += b;
    } else out += c;
  }
  return out + "\"";
}

// {"p50":..,"p95":..,"p99":..,"max":..,"min":..,"n":..} of values in milliseconds.
std::string distribution(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  std::ostringstream o;
  o << "{\"n\":" << v.size() << ",\"min\":" << json_number(v.empty() ? NAN : v.front())
    << ",\"p50\":" << json_number(percentile(v, 50)) << ",\"p95\":" << json_number(percentile(v, 95))
    << ",\"p99\":" << json_number(percentile(v, 99)) << ",\"max\":" << json_number(v.empty() ? NAN : v.back()) << "}";
  return o.str();
}

std::string errors_json(Run& run) {
  std::lock_guard lock(run.errors_mutex);
  std::string out = "{";
  for (const auto& [what, n] : run.errors) {
    if (out.size() > 1) out += ",";
    out += json_string(what) + ":" + std::to_string(n);
  }
  return out + "}";
}

void progress(Run& run, const char* phase) {
  std::fprintf(stderr, "socket_bench: %s connected=%d refused=%d failed=%d lost=%d\n", phase, run.connected.load(),
               run.refused.load(), run.failed.load(), run.lost.load());
}

std::string common_json(Run& run, double handshake_seconds) {
  std::ostringstream o;
  const int connected = run.connected.load();
  o << "\"mode\":" << json_string(run.opt.mode) << ",\"host\":" << json_string(run.opt.host)
    << ",\"port\":" << run.opt.port << ",\"threads\":" << run.opt.threads << ",\"sockets\":" << run.opt.sockets
    << ",\"source_addresses\":" << std::max<std::size_t>(1, run.sources.size()) << ",\"connected\":" << connected
    << ",\"refused\":" << run.refused.load() << ",\"failed\":" << run.failed.load()
    << ",\"lost\":" << run.lost.load() << ",\"handshake_seconds\":" << json_number(handshake_seconds)
    << ",\"handshakes_per_second\":" << json_number(handshake_seconds > 0 ? connected / handshake_seconds : NAN)
    << ",\"pings_answered\":" << run.pings.load() << ",\"client_rss_kb\":" << rss_kb_of_self()
    << ",\"client_cpu_s\":" << json_number(cpu_seconds_of_self());
  return o.str();
}

}  // namespace

int main(int argc, char** argv) {
  Run run;
  run.opt = parse_options(argc, argv);
  const Options& opt = run.opt;
  try {
    for (const auto& a : opt.sources) run.sources.push_back(net::ip::make_address(a));
  } catch (const std::exception&) {
    usage("bad --source-addresses");
  }
  {
    std::random_device rd;
    char tag[16];
    std::snprintf(tag, sizeof tag, "%08x", rd());
    run.run_tag = tag;
  }

  // One file descriptor per socket: take the whole hard limit.
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0) {
    lim.rlim_cur = lim.rlim_max;
    setrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < static_cast<rlim_t>(opt.sockets) + 64)
      std::fprintf(stderr, "socket_bench: warning: open-file limit %lu is below --sockets %d + 64\n",
                   static_cast<unsigned long>(lim.rlim_cur), opt.sockets);
  }

  run.last_seen = std::make_unique<std::atomic<std::int64_t>[]>(static_cast<std::size_t>(opt.sockets));
  if (opt.mode == "fanout") {
    const std::size_t slots = static_cast<std::size_t>(opt.sockets) * static_cast<std::size_t>(opt.events);
    run.receipt = std::make_unique<std::atomic<std::int64_t>[]>(slots);  // value-initialized: 0
    run.received = std::make_unique<std::atomic<int>[]>(static_cast<std::size_t>(opt.events));
  }

  tcp::endpoint server;
  try {
    server = tcp::endpoint(net::ip::make_address(opt.host), opt.port);
  } catch (const std::exception&) {
    usage("--host must be an IP address");
  }

  // I/O threads: one io_context each (no locking between them), openers spread round-robin.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<net::executor_work_guard<net::io_context::executor_type>> guards;
  for (int t = 0; t < opt.threads; ++t) {
    contexts.push_back(std::make_unique<net::io_context>(1));
    guards.push_back(net::make_work_guard(*contexts.back()));
  }
  const int workers = std::min(opt.concurrency, std::max(1, opt.sockets));
  for (int w = 0; w < workers; ++w)
    net::co_spawn(*contexts[static_cast<std::size_t>(w % opt.threads)], opener(run, server), net::detached);
  std::vector<std::thread> threads;
  for (auto& ctx : contexts) threads.emplace_back([&ctx] { ctx->run(); });

  // Connect phase: until every socket has an outcome (each has its own connect timeout).
  const std::int64_t start = now_ns();
  int last_report = -1;
  while (run.handshakes_done.load(std::memory_order_acquire) < opt.sockets) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int done = run.handshakes_done.load();
    if (done / 5000 != last_report / 5000 && done > 0) {
      progress(run, "connecting");
      last_report = done;
    }
  }
  const std::int64_t last = run.last_connect_ns.load();
  const double handshake_seconds = last > 0 ? static_cast<double>(last - start) / 1e9 : 0.0;
  progress(run, "ready");  // bench/realtime.sh waits for this line before reading the server's RSS

  std::string result;
  if (opt.mode == "hold") {
    const std::int64_t end = now_ns() + static_cast<std::int64_t>(opt.duration * 1e9);
    while (now_ns() < end) std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const int connected = run.connected.load();
    // Alive: still open and heard from the server (a ping, at least) within the ping window.
    const std::int64_t now = now_ns(), window = run.ping_window_ms.load() * 1'000'000L;
    int alive = 0;
    for (int s = 0; s < opt.sockets; ++s) {
      const std::int64_t seen = run.last_seen[static_cast<std::size_t>(s)].load(std::memory_order_relaxed);
      if (seen > 0 && now - seen <= window) ++alive;
    }
    result = "{" + common_json(run, handshake_seconds) + ",\"held_seconds\":" + json_number(opt.duration) +
             ",\"ping_window_ms\":" + std::to_string(run.ping_window_ms.load()) +
             ",\"open_at_end\":" + std::to_string(connected - run.lost.load()) +
             ",\"alive_at_end\":" + std::to_string(alive) + ",\"errors\":" + errors_json(run) + "}";
  } else {
    std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(opt.warmup * 1000)));
    const int expected = run.connected.load() - run.lost.load();  // sockets that should get every event
    RestClient rest(opt);
    std::vector<double> all;                  // receipt - REST answer, ms, every receipt
    std::vector<double> since_request;        // receipt - request sent, ms
    std::vector<double> last_per_event;       // last receipt - REST answer, ms, one per event
    std::vector<double> rest_ms;              // REST round trip
    long missing = 0;
    int created = 0;
    std::string rest_errors;
    // Valid, distinct US numbers: +1 212 EEE KKKK with an exchange drawn from the run tag.
    unsigned exchange = 300 + static_cast<unsigned>(std::strtoul(run.run_tag.c_str(), nullptr, 16) % 600);
    if (exchange % 100 == 11) ++exchange;
    const double cpu_before_events = cpu_seconds_of_self();
    for (int k = 0; k < opt.events; ++k) {
      char body[256];
      std::snprintf(body, sizeof body,
                    "{\"name\":\"Realtime Bench %d\",\"email\":\"rt-%s-%d@bench.example.com\",\"phone\":\"+1212%03u%04d\","
                    "\"source\":\"bench\"}",
                    k, run.run_tag.c_str(), k, exchange, k % 10000);
      Created c = rest.post_lead(body);
      if (!c.ok) {
        if (rest_errors.size() < 400)
          rest_errors += (rest_errors.empty() ? "" : "; ") + std::to_string(c.status) + " " + c.detail;
        std::this_thread::sleep_for(std::chrono::milliseconds(static_cast<long>(opt.interval * 1000)));
        continue;
      }
      ++created;
      rest_ms.push_back(static_cast<double>(c.answered_ns - c.sent_ns) / 1e6);
      const std::int64_t deadline = c.answered_ns + static_cast<std::int64_t>(opt.event_timeout * 1e9);
      while (run.received[k].load(std::memory_order_acquire) < expected && now_ns() < deadline)
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      std::this_thread::sleep_for(std::chrono::milliseconds(20));  // late duplicates, if any
      std::int64_t last_receipt = 0;
      int got = 0;
      for (int s = 0; s < opt.sockets; ++s) {
        const std::int64_t t = run.receipt[static_cast<std::size_t>(s) * opt.events + k].load(std::memory_order_acquire);
        if (t == 0) continue;
        ++got;
        all.push_back(static_cast<double>(t - c.answered_ns) / 1e6);
        since_request.push_back(static_cast<double>(t - c.sent_ns) / 1e6);
        last_receipt = std::max(last_receipt, t);
      }
      missing += std::max(0, expected - got);
      if (got > 0) last_per_event.push_back(static_cast<double>(last_receipt - c.answered_ns) / 1e6);
      std::fprintf(stderr, "socket_bench: event %d: rest %.2f ms, %d/%d receipts, last %.2f ms after the answer\n", k,
                   rest_ms.back(), got, expected,
                   got > 0 ? static_cast<double>(last_receipt - c.answered_ns) / 1e6 : 0.0);
      const std::int64_t next = c.sent_ns + static_cast<std::int64_t>(opt.interval * 1e9);
      while (now_ns() < next) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    result = "{" + common_json(run, handshake_seconds) + ",\"events\":" + std::to_string(opt.events) +
             ",\"created\":" + std::to_string(created) + ",\"receivers\":" + std::to_string(expected) +
             ",\"receipts\":" + std::to_string(all.size()) + ",\"missing\":" + std::to_string(missing) +
             ",\"duplicates\":" + std::to_string(run.duplicates.load()) +
             ",\"other_events\":" + std::to_string(run.other_events.load()) +
             ",\"latency_ms\":" + distribution(all) + ",\"since_request_ms\":" + distribution(since_request) +
             ",\"last_socket_ms\":" + distribution(last_per_event) + ",\"rest_ms\":" + distribution(rest_ms) +
             ",\"events_client_cpu_s\":" + json_number(cpu_seconds_of_self() - cpu_before_events) +
             ",\"rest_errors\":" + json_string(rest_errors) + ",\"errors\":" + errors_json(run) + "}";
  }
  std::printf("%s\n", result.c_str());
  std::fflush(stdout);
  // Tearing down tens of thousands of coroutines one by one buys nothing: the kernel closes
  // every socket when the process ends.
  std::_Exit(0);
}
