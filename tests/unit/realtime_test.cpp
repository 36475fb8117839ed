// The real-time building blocks without sockets: Engine.IO / Socket.IO codecs, flood
// control, the session queue, and the hub's audience rules driven through the event bus.
#include <gtest/gtest.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "realtime/event_bus.h"
#include "realtime/flood.h"
#include "realtime/hub.h"
#include "realtime/packets.h"
#include "realtime/session.h"

namespace lms::realtime {
namespace {

TEST(EngineIoPackets, DecodesEveryType) {
  for (char t = '0'; t <= '6'; ++t) {
    auto p = decode_eio(std::string(1, t) + "data");
    ASSERT_TRUE(p) << t;
    EXPECT_EQ(static_cast<char>(p->type), t);
    EXPECT_EQ(p->data, "data");
  }
  EXPECT_FALSE(decode_eio(""));
  EXPECT_FALSE(decode_eio("7"));
  EXPECT_FALSE(decode_eio("bAAAA"));  // base64 binary: not supported
}

TEST(EngineIoPackets, SplitsPollingPayloadsOnTheRecordSeparator) {
  auto packets = decode_eio_payload("2\x1e" "42[\"a\"]\x1e" "3");
  ASSERT_TRUE(packets);
  ASSERT_EQ(packets->size(), 3u);
  EXPECT_EQ((*packets)[0].type, EioType::ping);
  EXPECT_EQ((*packets)[1].data, "2[\"a\"]");
  EXPECT_EQ((*packets)[2].type, EioType::pong);
  EXPECT_FALSE(decode_eio_payload(""));
  EXPECT_FALSE(decode_eio_payload("2\x1e"));  // an empty record
  EXPECT_FALSE(decode_eio_payload("2\x1e" "x"));
}

TEST(SocketIoPackets, DecodesConnectWithAuth) {
  auto p = decode_sio("0{\"token\":\"abc\"}");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, SioType::connect);
  EXPECT_EQ(p->nsp, "/");
  EXPECT_EQ(p->data, "{\"token\":\"abc\"}");
  auto bare = decode_sio("0");
  ASSERT_TRUE(bare);
  EXPECT_TRUE(bare->data.empty());
  auto admin = decode_sio("0/admin,{\"token\":\"abc\"}");
  ASSERT_TRUE(admin);
  EXPECT_EQ(admin->nsp, "/admin");
  EXPECT_EQ(admin->data, "{\"token\":\"abc\"}");
}

TEST(SocketIoPackets, DecodesEventsWithAckIds) {
  auto p = decode_sio("212[\"ping:ack\",{\"n\":1},\"x\"]");
  ASSERT_TRUE(p);
  EXPECT_EQ(p->type, SioType::event);
  ASSERT_TRUE(p->ack_id);
  EXPECT_EQ(*p->ack_id, 12u);
  EXPECT_EQ(event_name(p->data), "ping:ack");
  EXPECT_EQ(event_arguments(p->data), "[{\"n\":1},\"x\"]");
  auto ack = decode_sio("37[1]");
  ASSERT_TRUE(ack);
  EXPECT_EQ(ack->type, SioType::ack);
  EXPECT_EQ(*ack->ack_id, 7u);
  auto nsp = decode_sio("2/chat,3[\"a\"]");
  ASSERT_TRUE(nsp);
  EXPECT_EQ(nsp->nsp, "/chat");
  EXPECT_EQ(*nsp->ack_id, 3u);
}

TEST(SocketIoPackets, RejectsMalformedPackets) {
  for (const char* bad : {"", "9", "5-[\"a\",{\"_placeholder\":true,\"num\":0}]", "6", "4{\"message\":\"x\"}",
                          "2", "2{}", "2[]", "2[1]", "2[\"a\"", "2[\"a\"]x", "0[]", "0\"token\"", "1{}", "3[1]",
                          "31{}", "21234567890123456[\"a\"]", "0/admin"}) {
    if (std::string_view(bad) == "0/admin") continue;  // a namespace without payload is valid
    EXPECT_FALSE(decode_sio(bad)) << bad;
  }
  EXPECT_TRUE(decode_sio("0/admin"));
  std::string deep = "2[\"a\"," + std::string(100, '[') + std::string(100, ']') + "]";
  EXPECT_FALSE(decode_sio(deep));
}

TEST(Encoders, WriteTheProtocolShapes) {
  EXPECT_EQ(eio_open("abc", true, 25000, 20000, 1000000),
            "0{\"sid\":\"abc\",\"upgrades\":[\"websocket\"],\"pingInterval\":25000,\"pingTimeout\":20000,"
            "\"maxPayload\":1000000}");
  EXPECT_EQ(eio_open("abc", false, 1, 2, 3), "0{\"sid\":\"abc\",\"upgrades\":[],\"pingInterval\":1,\"pingTimeout\":2,\"maxPayload\":3}");
  EXPECT_EQ(sio_connect_ok("s1"), "40{\"sid\":\"s1\"}");
  EXPECT_EQ(sio_connect_error("/", "unauthorized"), "44{\"message\":\"unauthorized\"}");
  EXPECT_EQ(sio_connect_error("/admin", "Invalid namespace"), "44/admin,{\"message\":\"Invalid namespace\"}");
  EXPECT_EQ(sio_event("lead:created", "{\"id\":\"1\"}"), "42[\"lead:created\",{\"id\":\"1\"}]");
  EXPECT_EQ(sio_ack("/", 5, "[1,2]"), "435[1,2]");
  EXPECT_EQ(sio_disconnect(), "41");
}

TEST(FloodGate, LetsTwentyThroughThenCountsIntoOneBulkPerTick) {
  FloodGate gate(20);
  int delivered = 0;
  for (int i = 0; i < 1000; ++i) delivered += gate.admit(i % 10 == 0 ? EventKind::lead_deleted : EventKind::lead_created);
  EXPECT_EQ(delivered, 20);
  auto bulk = gate.tick();
  ASSERT_TRUE(bulk);
  EXPECT_EQ(bulk->created + bulk->deleted + bulk->updated, 980);
  EXPECT_EQ(bulk->deleted, 98);
  // The second after a flood still counts, so the receiver gets one bulk, not 20 singles.
  EXPECT_FALSE(gate.admit(EventKind::lead_updated));
  auto next = gate.tick();
  ASSERT_TRUE(next);
  EXPECT_EQ(next->updated, 1);
  // A calm second ends counting mode.
  EXPECT_FALSE(gate.tick());
  EXPECT_TRUE(gate.admit(EventKind::lead_created));
  EXPECT_FALSE(gate.tick());
  EXPECT_TRUE(gate.idle());
}

TEST(ProgressThrottle, SendsAtMostOncePerSecondPerJobAndKeepsTheLatest) {
  ProgressThrottle throttle;
  auto t0 = ProgressThrottle::Clock::now();
  Event a;
  a.kind = EventKind::import_progress;
  a.job_id = "job-1";
  a.payload = "1";
  EXPECT_TRUE(throttle.admit(a, t0));
  a.payload = "2";
  EXPECT_FALSE(throttle.admit(a, t0 + std::chrono::milliseconds(100)));
  a.payload = "3";
  EXPECT_FALSE(throttle.admit(a, t0 + std::chrono::milliseconds(200)));
  Event other = a;
  other.job_id = "job-2";
  EXPECT_TRUE(throttle.admit(other, t0 + std::chrono::milliseconds(200)));
  std::vector<std::string> sent;
  throttle.tick(t0 + std::chrono::milliseconds(500), [&](const Event& e) { sent.push_back(e.payload); });
  EXPECT_TRUE(sent.empty());
  throttle.tick(t0 + std::chrono::milliseconds(1000), [&](const Event& e) { sent.push_back(e.payload); });
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0], "3");
  throttle.finish("job-1");
  a.payload = "4";
  EXPECT_TRUE(throttle.admit(a, t0 + std::chrono::milliseconds(1100)));
}

// A WebSocket connection standing in: records what reaches it directly.
struct RecordingSink final : DirectSink {
  explicit RecordingSink(boost::asio::io_context& io) : io(io) {}
  bool on_own_thread() const override { return io.get_executor().running_in_this_thread(); }
  void deliver(const Packet& packet) override { direct.emplace_back(packet->text()); }
  boost::asio::io_context& io;
  std::vector<std::string> direct;
};

TEST(SessionQueue, PacketsGoStraightToTheConnectionOnItsThreadWhenNothingIsQueued) {
  boost::asio::io_context io;
  auto session = std::make_shared<Session>("sid", Transport::websocket, io.get_executor(), SessionLimits{}, nullptr);
  RecordingSink sink(io);
  session->set_sink(&sink);
  // Off the connection's thread: queued (and the connection is woken to take it).
  EXPECT_TRUE(session->send("off-thread"));
  EXPECT_TRUE(sink.direct.empty());
  boost::asio::post(io, [&] {
    // On its thread, but behind a queued packet: queued too, so the order holds.
    session->send("behind");
    EXPECT_TRUE(sink.direct.empty());
    auto batch = session->take();
    ASSERT_EQ(batch.packets.size(), 2u);
    EXPECT_EQ(batch.packets[0]->text(), "off-thread");
    EXPECT_EQ(batch.packets[1]->text(), "behind");
    // Nothing queued now: straight through, no queue.
    session->send("direct");
    EXPECT_EQ(sink.direct, std::vector<std::string>{"direct"});
    EXPECT_TRUE(session->take().packets.empty());
    // A DISCONNECT is queued, and what follows waits behind it.
    session->disconnect(CloseReason::server_disconnect);
    session->send("after");
    EXPECT_EQ(sink.direct.size(), 1u);
    // Once closed, nothing more is accepted.
    session->close(CloseReason::server_disconnect);
    EXPECT_FALSE(session->send("closed"));
  });
  io.run();
  session->set_sink(nullptr);
}

TEST(SessionQueue, AnOutboundPacketCarriesItsFrameAndText) {
  Outbound small("42[\"x\"]");
  EXPECT_EQ(small.text(), "42[\"x\"]");
  EXPECT_EQ(small.frame(), std::string("\x81\x07") + "42[\"x\"]");
  EXPECT_EQ(small.size(), 7u);
  Outbound large(std::string(70'000, 'a'));
  EXPECT_EQ(large.text().size(), 70'000u);
  EXPECT_EQ(large.frame().size(), 70'010u);
}

TEST(SessionQueue, ClosesAConsumerThatFallsBehindInsteadOfGrowing) {
  boost::asio::io_context io;
  SessionLimits limits;
  limits.queue_limit_bytes = 100;
  int closes = 0;
  auto session = std::make_shared<Session>("sid", Transport::websocket, io.get_executor(), limits,
                                           [&](Session&) { ++closes; });
  EXPECT_TRUE(session->send(std::string(60, 'x')));
  EXPECT_FALSE(session->send(std::string(60, 'y')));
  EXPECT_TRUE(session->closed());
  EXPECT_EQ(session->close_reason(), CloseReason::slow_consumer);
  EXPECT_FALSE(session->send("z"));
  session->close(CloseReason::client_close);
  EXPECT_EQ(closes, 1);
  auto batch = session->take();
  EXPECT_TRUE(batch.closed);
  EXPECT_EQ(batch.packets.size(), 1u);
  io.poll();
}

class HubAudience : public ::testing::Test {
 protected:
  HubAudience() : hub_({&io_}, bus_, HubSettings{}) { hub_.start(); }
  ~HubAudience() override {
    hub_.close_all();
    io_.poll();
  }

  std::shared_ptr<Session> connect(std::string org, std::string user, accounts::Role role) {
    auto session = hub_.open_session(io_.get_executor(), Transport::websocket);
    hub_.join(session, accounts::Principal{std::move(user), std::move(org), role});
    io_.poll();
    return session;
  }

  static std::vector<std::string> received(const std::shared_ptr<Session>& s) {
    std::vector<std::string> names;
    for (auto& p : s->take().packets) names.push_back(std::string(p->text().substr(0, p->text().find(','))));
    return names;
  }

  Event lead_event(EventKind kind, std::string org, std::string assignee, std::string previous = {}) {
    Event e;
    e.kind = kind;
    e.organization_id = std::move(org);
    e.assignee = std::move(assignee);
    e.previous_assignee = std::move(previous);
    e.payload = "{}";
    return e;
  }

  boost::asio::io_context io_;
  LocalEventBus bus_;
  Hub hub_;
};

TEST_F(HubAudience, EachRoleHearsItsOwnOrganizationOnly) {
  auto admin = connect("org1", "admin", accounts::Role::admin);
  auto manager = connect("org1", "manager", accounts::Role::manager);
  auto agent_a = connect("org1", "a", accounts::Role::agent);
  auto agent_b = connect("org1", "b", accounts::Role::agent);
  auto other = connect("org2", "admin2", accounts::Role::admin);
  EXPECT_EQ(hub_.connections(), 5);
  for (auto& s : {admin, manager, agent_a, agent_b, other}) s->take();

  bus_.publish(lead_event(EventKind::lead_created, "org1", "a"));
  bus_.publish(lead_event(EventKind::lead_updated, "org1", ""));
  bus_.publish(lead_event(EventKind::lead_assigned, "org1", "b", "a"));
  bus_.publish(lead_event(EventKind::lead_deleted, "org1", "b"));
  io_.poll();

  using V = std::vector<std::string>;
  const V all = {"42[\"lead:created\"", "42[\"lead:updated\"", "42[\"lead:assigned\"", "42[\"lead:deleted\""};
  EXPECT_EQ(received(admin), all);
  EXPECT_EQ(received(manager), all);
  EXPECT_EQ(received(agent_a), (V{"42[\"lead:created\"", "42[\"lead:assigned\""}));
  EXPECT_EQ(received(agent_b), (V{"42[\"lead:assigned\"", "42[\"lead:deleted\""}));
  EXPECT_TRUE(received(other).empty());
}

TEST_F(HubAudience, ImportEventsReachTheCreatorAndManagers) {
  auto admin = connect("org1", "admin", accounts::Role::admin);
  auto creator = connect("org1", "a", accounts::Role::agent);
  auto bystander = connect("org1", "b", accounts::Role::agent);
  for (auto& s : {admin, creator, bystander}) s->take();
  Event e;
  e.kind = EventKind::import_completed;
  e.organization_id = "org1";
  e.user_id = "a";
  e.job_id = "job";
  e.payload = "{}";
  bus_.publish(e);
  io_.poll();
  EXPECT_EQ(received(admin).size(), 1u);
  EXPECT_EQ(received(creator).size(), 1u);
  EXPECT_TRUE(received(bystander).empty());
}

TEST_F(HubAudience, ADeactivatedUsersSocketsAreDisconnected) {
  auto agent = connect("org1", "a", accounts::Role::agent);
  auto other = connect("org1", "b", accounts::Role::agent);
  agent->take();
  Event e;
  e.kind = EventKind::user_deactivated;
  e.organization_id = "org1";
  e.user_id = "a";
  bus_.publish(e);
  io_.poll();
  EXPECT_EQ(hub_.connections(), 1);
  // The DISCONNECT is delivered on its own; the session closes once it has been taken.
  EXPECT_FALSE(agent->closed());
  auto batch = agent->take();
  ASSERT_EQ(batch.packets.size(), 1u);
  EXPECT_EQ(batch.packets[0]->text(), "41");
  EXPECT_FALSE(batch.closed);
  EXPECT_TRUE(agent->take().closed);
  EXPECT_EQ(agent->close_reason(), CloseReason::server_disconnect);
  EXPECT_FALSE(other->closed());
  EXPECT_EQ(hub_.find(agent->sid()), nullptr);
}

TEST_F(HubAudience, AFloodBecomesCountedBulkEvents) {
  auto admin = connect("org1", "admin", accounts::Role::admin);
  admin->take();
  for (int i = 0; i < 1000; ++i) bus_.publish(lead_event(EventKind::lead_created, "org1", ""));
  io_.poll();
  EXPECT_EQ(received(admin).size(), 20u);
  io_.run_for(std::chrono::milliseconds(1100));  // the shard's one-second tick
  auto batch = admin->take();
  ASSERT_GE(batch.packets.size(), 1u);
  bool found = false;
  for (auto& p : batch.packets)
    if (p->text() == "42[\"leads:bulk\",{\"created\":980,\"updated\":0,\"deleted\":0}]") found = true;
  EXPECT_TRUE(found);
}

}  // namespace
}  // namespace lms::realtime
