#include "redis/client.h"

#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <hiredis/async.h>
#include <hiredis/hiredis.h>

#include <charconv>

#include "ops/log.h"

namespace lms::redis {

namespace {

Reply convert(const redisReply* r) {
  Reply out;
  if (!r) return Reply::error("no reply");
  switch (r->type) {
    case REDIS_REPLY_INTEGER:
      out.type = Reply::Type::integer;
      out.integer = r->integer;
      break;
    case REDIS_REPLY_STRING:
      out.type = Reply::Type::string;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_STATUS:
      out.type = Reply::Type::status;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ERROR:
      out.type = Reply::Type::error;
      out.str.assign(r->str, r->len);
      break;
    case REDIS_REPLY_ARRAY:
      out.type = Reply::Type::array;
      out.elements.reserve(r->elements);
      for (std::size_t i = 0; i < r->elements; ++i) out.elements.push_back(convert(r->element[i]));
      break;
    default:
      out.type = Reply::Type::nil;
  }
  return out;
}

bool parse_int(std::string_view text, int& value) {
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  return ec == std::errc{} && end == text.data() + text.size();
}

}  // namespace

std::optional<Url> parse_url(std::string_view text) {
  constexpr std::string_view scheme = "redis://";
  if (text.substr(0, scheme.size()) != scheme) return std::nullopt;
  text.remove_prefix(scheme.size());
  Url url;
  if (auto at = text.rfind('@'); at != std::string_view::npos) {
    auto credentials = text.substr(0, at);
    auto colon = credentials.find(':');
    url.password = std::string(colon == std::string_view::npos ? credentials : credentials.substr(colon + 1));
    text.remove_prefix(at + 1);
  }
  if (auto slash = text.find('/'); slash != std::string_view::npos) {
    auto db = text.substr(slash + 1);
    if (!db.empty() && (!parse_int(db, url.db) || url.db < 0)) return std::nullopt;
    text = text.substr(0, slash);
  }
  if (auto colon = text.rfind(':'); colon != std::string_view::npos) {
    if (!parse_int(text.substr(colon + 1), url.port) || url.port <= 0 || url.port > 65535) return std::nullopt;
    text = text.substr(0, colon);
  }
  if (!text.empty()) url.host = std::string(text);
  return url;
}

std::string redacted(const Url& url) {
  return "redis://" + std::string(url.password.empty() ? "" : "***@") + url.host + ":" + std::to_string(url.port) +
         "/" + std::to_string(url.db);
}

// hiredis's event hooks on one socket. Lives while hiredis holds the socket (until cleanup)
// and while a wait on it is outstanding (the handlers share ownership).
struct Connection::Link : std::enable_shared_from_this<Link> {
  Link(asio::io_context& context, int fd, redisAsyncContext* ac) : descriptor(context, fd), ac(ac) {}
  asio::posix::stream_descriptor descriptor;
  redisAsyncContext* ac;
  bool dead = false;
  bool want_read = false, want_write = false;
  bool reading = false, writing = false;
  std::shared_ptr<Link> self;  // hiredis's reference, dropped at cleanup

  void arm_read() {
    if (reading || dead) return;
    reading = true;
    descriptor.async_wait(asio::posix::stream_descriptor::wait_read,
                          [l = shared_from_this()](boost::system::error_code ec) {
                            l->reading = false;
                            if (ec || l->dead || !l->want_read) return;
                            redisAsyncHandleRead(l->ac);
                            if (!l->dead && l->want_read) l->arm_read();
                          });
  }
  void arm_write() {
    if (writing || dead) return;
    writing = true;
    descriptor.async_wait(asio::posix::stream_descriptor::wait_write,
                          [l = shared_from_this()](boost::system::error_code ec) {
                            l->writing = false;
                            if (ec || l->dead || !l->want_write) return;
                            redisAsyncHandleWrite(l->ac);
                            if (!l->dead && l->want_write) l->arm_write();
                          });
  }
  static void add_read(void* p) {
    auto* l = static_cast<Link*>(p);
    l->want_read = true;
    l->arm_read();
  }
  static void del_read(void* p) { static_cast<Link*>(p)->want_read = false; }
  static void add_write(void* p) {
    auto* l = static_cast<Link*>(p);
    l->want_write = true;
    l->arm_write();
  }
  static void del_write(void* p) { static_cast<Link*>(p)->want_write = false; }
  static void cleanup(void* p) {
    auto* l = static_cast<Link*>(p);
    l->dead = true;
    l->want_read = l->want_write = false;
    boost::system::error_code ignored;
    l->descriptor.cancel(ignored);
    l->descriptor.release();  // hiredis closes its socket itself
    auto keep = std::move(l->self);  // may free *l when no wait is outstanding
  }
};

struct Connection::Pending {
  Connection* owner;
  Callback callback;
};

Connection::Connection(asio::io_context& context, Url url, ConnectionSettings settings, std::string name)
    : context_(context),
      url_(std::move(url)),
      settings_(settings),
      name_(std::move(name)),
      retry_timer_(context),
      watchdog_(context) {}

Connection::~Connection() { stop(); }

void Connection::subscribe(std::vector<std::string> channels, MessageHandler handler) {
  channels_ = std::move(channels);
  message_handler_ = std::move(handler);
}

void Connection::start() {
  asio::post(context_, [this] {
    connect();
    watch();
  });
}

void Connection::stop() {
  if (stopped_) return;
  stopped_ = true;
  retry_timer_.cancel();
  watchdog_.cancel();
  if (auto* ac = ac_) {
    ac_ = nullptr;
    connected_ = false;
    redisAsyncFree(ac);  // answers every pending command with an error
  }
  up_ = false;
}

void Connection::connect() {
  if (stopped_) return;
  redisAsyncContext* ac = redisAsyncConnect(url_.host.c_str(), url_.port);
  if (!ac) {
    schedule_reconnect();
    return;
  }
  if (ac->err) {
    redisAsyncFree(ac);
    schedule_reconnect();
    return;
  }
  ac->data = this;
  auto link = std::make_shared<Link>(context_, ac->c.fd, ac);
  link->self = link;
  ac->ev.data = link.get();
  ac->ev.addRead = &Link::add_read;
  ac->ev.delRead = &Link::del_read;
  ac->ev.addWrite = &Link::add_write;
  ac->ev.delWrite = &Link::del_write;
  ac->ev.cleanup = &Link::cleanup;
  redisAsyncSetConnectCallback(ac, &Connection::on_connect);
  redisAsyncSetDisconnectCallback(ac, &Connection::on_disconnect);
  ac_ = ac;
  link_ = link;
  connected_ = false;
  in_flight_.clear();
  // A connect that neither succeeds nor fails (a dropped SYN) is ended by the watchdog.
  in_flight_.push_back(std::chrono::steady_clock::now());
  // hiredis waits for writability to learn that the connection is established.
  Link::add_write(link.get());
}

void Connection::schedule_reconnect() {
  if (stopped_) return;
  backoff_ = backoff_.count() == 0 ? settings_.reconnect_min : std::min(backoff_ * 2, settings_.reconnect_max);
  retry_timer_.expires_after(backoff_);
  retry_timer_.async_wait([this](boost::system::error_code ec) {
    if (!ec) connect();
  });
}

void Connection::on_connect(const redisAsyncContext* ac, int status) {
  auto* self = static_cast<Connection*>(ac->data);
  if (self->ac_ != ac) return;
  if (status != REDIS_OK) {
    // hiredis frees the context after this callback.
    self->ac_ = nullptr;
    self->link_down(ac->errstr);
    return;
  }
  self->in_flight_.clear();
  self->connected_ = true;
  self->link_up();
}

void Connection::on_disconnect(const redisAsyncContext* ac, int) {
  auto* self = static_cast<Connection*>(ac->data);
  if (self->ac_ != ac) return;  // we freed it ourselves and already went down
  self->ac_ = nullptr;
  self->link_down(ac->err ? ac->errstr : "closed");
}

void Connection::link_up() {
  backoff_ = std::chrono::milliseconds(0);
  if (ever_up_) reconnects_.fetch_add(1, std::memory_order_relaxed);
  ever_up_ = true;
  // Sent first on the new link, so they precede whatever is sent after; their replies are
  // only logged.
  auto log_failure = [this](const char* what) {
    return [this, what](const Reply& r) {
      if (r.is_error()) ops::LogLine("redis command failed").str("connection", name_).str("command", what).str("error", r.str).warn();
    };
  };
  if (!url_.password.empty()) send({"AUTH", url_.password}, log_failure("AUTH"));
  if (url_.db != 0) send({"SELECT", std::to_string(url_.db)}, log_failure("SELECT"));
  if (!channels_.empty()) {
    std::vector<const char*> argv{"SUBSCRIBE"};
    std::vector<std::size_t> lens{9};
    for (auto& c : channels_) {
      argv.push_back(c.c_str());
      lens.push_back(c.size());
    }
    redisAsyncCommandArgv(ac_, &Connection::on_message, this, static_cast<int>(argv.size()), argv.data(), lens.data());
  }
  up_ = true;
  reported_down_ = false;
  ops::LogLine("redis connected").str("connection", name_).str("url", redacted(url_)).info();
  if (state_handler_) state_handler_(true);
}

void Connection::link_down(const char* why) {
  const bool was_up = connected_;
  connected_ = false;
  in_flight_.clear();
  link_.reset();
  up_ = false;
  // Said once per outage, not at every reconnect attempt.
  if (was_up || !reported_down_) {
    reported_down_ = true;
    ops::LogLine(was_up ? "redis disconnected" : "redis unreachable")
        .str("connection", name_)
        .str("reason", why ? why : "")
        .warn();
    if (state_handler_) state_handler_(false);
  }
  schedule_reconnect();
}

void Connection::command(std::vector<std::string> args, Callback callback) {
  if (pending_count_.fetch_add(1, std::memory_order_relaxed) >= settings_.max_pending) {
    pending_count_.fetch_sub(1, std::memory_order_relaxed);
    callback(Reply::error("redis queue full"));
    return;
  }
  asio::post(context_, [this, args = std::move(args), callback = std::move(callback)]() mutable {
    send(std::move(args), [this, callback = std::move(callback)](const Reply& reply) {
      pending_count_.fetch_sub(1, std::memory_order_relaxed);
      callback(reply);
    });
  });
}

void Connection::send(std::vector<std::string> args, Callback callback) {
  if (!connected_ || !ac_) {
    callback(Reply::error("redis unavailable"));
    return;
  }
  std::vector<const char*> argv;
  std::vector<std::size_t> lens;
  argv.reserve(args.size());
  lens.reserve(args.size());
  for (auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* pending = new Pending{this, std::move(callback)};
  if (redisAsyncCommandArgv(ac_, &Connection::on_reply, pending, static_cast<int>(argv.size()), argv.data(),
                            lens.data()) != REDIS_OK) {
    auto cb = std::move(pending->callback);
    delete pending;
    cb(Reply::error("redis unavailable"));
    return;
  }
  in_flight_.push_back(std::chrono::steady_clock::now());
}

void Connection::on_reply(redisAsyncContext*, void* reply, void* privdata) {
  std::unique_ptr<Pending> pending(static_cast<Pending*>(privdata));
  auto* self = pending->owner;
  if (!self->in_flight_.empty()) self->in_flight_.pop_front();
  pending->callback(reply ? convert(static_cast<redisReply*>(reply)) : Reply::error("redis connection lost"));
}

void Connection::on_message(redisAsyncContext*, void* reply, void* privdata) {
  if (!reply) return;  // the link is going away
  auto* self = static_cast<Connection*>(privdata);
  auto* r = static_cast<redisReply*>(reply);
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 3) return;
  std::string_view kind(r->element[0]->str ? r->element[0]->str : "", r->element[0]->len);
  if (kind != "message" || r->element[2]->type != REDIS_REPLY_STRING) return;
  if (self->message_handler_)
    self->message_handler_(std::string_view(r->element[1]->str, r->element[1]->len),
                           std::string_view(r->element[2]->str, r->element[2]->len));
}

void Connection::watch() {
  if (stopped_) return;
  auto tick = std::min(settings_.command_timeout, settings_.connect_timeout) / 4;
  watchdog_.expires_after(std::max(tick, std::chrono::milliseconds(10)));
  watchdog_.async_wait([this](boost::system::error_code ec) {
    if (ec) return;
    const auto limit = connected_ ? settings_.command_timeout : settings_.connect_timeout;
    if (ac_ && !in_flight_.empty() && std::chrono::steady_clock::now() - in_flight_.front() > limit) {
      auto* ac = ac_;
      ac_ = nullptr;
      const char* why = connected_ ? "command timed out" : "connect timed out";
      redisAsyncFree(ac);  // answers what was in flight with errors
      link_down(why);
    }
    watch();
  });
}

asio::awaitable<Reply> Connection::async_command(std::vector<std::string> args) {
  co_return co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(Reply)>(
      [this, &args](auto handler) {
        auto home = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
        auto shared = std::make_shared<decltype(handler)>(std::move(handler));
        command(std::move(args), [home, shared](const Reply& reply) {
          asio::post(home, [shared, reply]() mutable { std::move(*shared)(std::move(reply)); });
        });
      },
      asio::use_awaitable);
}

}  // namespace lms::redis
