// docs/openapi.yaml against the real route table: the document must list exactly the
// (method, path) pairs that register_routes() wires, mark the unauthenticated routes with
// `security: []`, say `openapi: 3.1.x`, and every local `$ref` in it must resolve. A route
// added without documenting it (or a documented route that was removed) fails here.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <unistd.h>

#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <cctype>
#include <chrono>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <sstream>
#include <string>

#include "accounts/accounts_service.h"
#include "accounts/directory.h"
#include "app/app.h"
#include "auth/auth_service.h"
#include "auth/passwords.h"
#include "auth/tokens.h"
#include "common/ids.h"
#include "http/router.h"
#include "leads/cursor.h"
#include "leads/leads_service.h"
#include "store/sqlite/sqlite_store.h"

#ifndef LMS_SOURCE_DIR
#error "LMS_SOURCE_DIR must name the source tree (see tests/CMakeLists.txt)"
#endif

namespace lms::app {
namespace {

namespace fs = std::filesystem;

const std::set<std::string> kHttpMethods = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

fs::path openapi_path() { return fs::path(LMS_SOURCE_DIR) / "docs" / "openapi.yaml"; }

// "/api/leads/:id/notes" → "/api/leads/{id}/notes"
std::string openapi_template(const std::string& pattern) {
  std::string out;
  std::size_t i = 0;
  while (i < pattern.size()) {
    if (pattern[i] == ':' && (i == 0 || pattern[i - 1] == '/')) {
      auto end = pattern.find('/', i);
      if (end == std::string::npos) end = pattern.size();
      out += "{" + pattern.substr(i + 1, end - i - 1) + "}";
      i = end;
    } else {
      out.push_back(pattern[i++]);
    }
  }
  return out;
}

std::string lower(std::string_view text) {
  std::string out(text);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// "get /api/leads" → whether the route requires a bearer token.
using RouteTable = std::map<std::string, bool>;

// Builds the server's real route table: the same services serve() wires, over a throwaway
// SQLite database. Nothing is requested; only the registrations are read.
RouteTable real_routes() {
  static std::atomic<int> counter{0};
  auto dir = fs::temp_directory_path() /
             ("lms-openapi-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" + new_id().substr(24));
  fs::remove_all(dir);
  fs::create_directories(dir);

  RouteTable table;
  {
    store::sqlite::SqliteStore store((dir / "lms.db").string(), 2);
    const std::string secret(32, 'k');
    auth::TokenSigner signer(secret);
    leads::CursorCodec cursors(secret);
    auth::PasswordHasher hasher(auth::PasswordCost{1, 64u << 10});
    boost::asio::thread_pool hashing(1);
    {
      accounts::AccountDirectory directory(store.accounts(), std::chrono::seconds(5));
      auth::AuthService auth(store.accounts(), directory, signer, hasher, hashing.get_executor(), auth::AuthSettings{});
      accounts::AccountsService accounts(store.accounts(), directory, auth);
      leads::LeadsService leads(store.leads(), directory, cursors);
      boost::asio::io_context io;
      realtime::LocalEventBus events;
      realtime::Hub hub({&io}, events, realtime::HubSettings{});
      realtime::Endpoint realtime(hub, [&auth](std::string_view token) { return auth.authenticate(token); });
      imports::ImportService imports(store, directory, &events, imports::ImportSettings{dir / "spool"});
      Services services{store, auth, accounts, leads, imports, realtime, [] { return false; }};
      http::Router router;
      register_routes(router, services);
      for (const auto& route : router.routes())
        table[lower(http::bhttp::to_string(route.method)) + " " + openapi_template(route.pattern)] =
            route.options.authenticated;
    }
    hashing.join();
    store.close();
  }
  std::error_code ec;
  fs::remove_all(dir, ec);
  return table;
}

YAML::Node load_document() {
  auto path = openapi_path();
  if (!fs::exists(path)) throw std::runtime_error(path.string() + " does not exist");
  return YAML::LoadFile(path.string());
}

// Every operation of the document: "get /api/leads" → its node.
std::map<std::string, YAML::Node> documented_operations(const YAML::Node& doc) {
  std::map<std::string, YAML::Node> out;
  for (const auto& path : doc["paths"]) {
    auto name = path.first.as<std::string>();
    for (const auto& entry : path.second) {
      auto key = entry.first.as<std::string>();
      if (kHttpMethods.count(key)) out.emplace(key + " " + name, entry.second);
    }
  }
  return out;
}

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += "\n  " + item;
  return out.empty() ? "\n  (none)" : out;
}

// The operation requires bearerAuth when its own `security` (else the document's) names it.
bool requires_bearer(const YAML::Node& doc, const YAML::Node& operation) {
  YAML::Node security = operation["security"] ? operation["security"] : doc["security"];
  if (!security || !security.IsSequence() || security.size() == 0) return false;
  for (const auto& requirement : security) {
    if (!requirement.IsMap() || requirement.size() == 0) return false;  // `{}`: anonymous allowed
    if (!requirement["bearerAuth"]) return false;
  }
  return true;
}

// Resolves "#/components/schemas/Lead" in the document.
bool resolves(const YAML::Node& doc, const std::string& ref) {
  if (ref.rfind("#/", 0) != 0) return false;
  // Node::operator= would write into the document; reset() only re-points the handle.
  YAML::Node node;
  node.reset(doc);
  std::stringstream parts(ref.substr(2));
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (!node.IsMap()) return false;
    const YAML::Node& current = node;
    YAML::Node next = current[part];
    if (!next) return false;
    node.reset(next);
  }
  return true;
}

void collect_refs(const YAML::Node& node, std::set<std::string>& refs) {
  if (node.IsMap()) {
    for (const auto& entry : node) {
      if (entry.first.as<std::string>() == "$ref" && entry.second.IsScalar())
        refs.insert(entry.second.as<std::string>());
      else
        collect_refs(entry.second, refs);
    }
  } else if (node.IsSequence()) {
    for (const auto& item : node) collect_refs(item, refs);
  }
}

TEST(OpenApiTemplate, ConvertsRouterParameters) {
  EXPECT_EQ(openapi_template("/api/leads"), "/api/leads");
  EXPECT_EQ(openapi_template("/api/leads/:id"), "/api/leads/{id}");
  EXPECT_EQ(openapi_template("/api/leads/:id/notes"), "/api/leads/{id}/notes");
  EXPECT_EQ(openapi_template("/a/:x/b/:y"), "/a/{x}/b/{y}");
}

TEST(OpenApiDocument, IsOpenApi31) {
  YAML::Node doc = load_document();
  ASSERT_TRUE(doc.IsMap());
  ASSERT_TRUE(doc["openapi"] && doc["openapi"].IsScalar()) << "no `openapi:` version field";
  auto version = doc["openapi"].as<std::string>();
  EXPECT_EQ(version.rfind("3.1.", 0), 0u) << "openapi: " << version << " (expected 3.1.x)";
  EXPECT_TRUE(doc["info"]["title"]);
  EXPECT_TRUE(doc["info"]["version"]);
  ASSERT_TRUE(doc["paths"] && doc["paths"].IsMap());
  ASSERT_TRUE(doc["components"]["securitySchemes"]["bearerAuth"]) << "no bearerAuth security scheme";
  EXPECT_EQ(doc["components"]["securitySchemes"]["bearerAuth"]["scheme"].as<std::string>(""), "bearer");
}

TEST(OpenApiDocument, MatchesTheRouteTable) {
  YAML::Node doc = load_document();
  RouteTable routes = real_routes();
  ASSERT_FALSE(routes.empty());
  auto operations = documented_operations(doc);

  std::set<std::string> real, documented;
  for (const auto& [key, authenticated] : routes) real.insert(key);
  for (const auto& [key, node] : operations) documented.insert(key);

  std::set<std::string> undocumented, stale;
  for (const auto& key : real)
    if (!documented.count(key)) undocumented.insert(key);
  for (const auto& key : documented)
    if (!real.count(key)) stale.insert(key);
  EXPECT_TRUE(undocumented.empty() && stale.empty())
      << "docs/openapi.yaml and register_routes() disagree."
      << "\nRoutes the server has but the document does not:" << join(undocumented)
      << "\nOperations the document has but the server does not:" << join(stale);
}

TEST(OpenApiDocument, SecurityMatchesAuthentication) {
  YAML::Node doc = load_document();
  RouteTable routes = real_routes();
  auto operations = documented_operations(doc);
  std::set<std::string> wrong;
  for (const auto& [key, authenticated] : routes) {
    auto it = operations.find(key);
    if (it == operations.end()) continue;  // reported by MatchesTheRouteTable
    if (requires_bearer(doc, it->second) != authenticated)
      wrong.insert(key + (authenticated ? " (server requires a bearer token; document does not)"
                                        : " (server needs no token; document requires one)"));
  }
  EXPECT_TRUE(wrong.empty()) << "security requirements that disagree with the router:" << join(wrong);
}

TEST(OpenApiDocument, EveryOperationIsComplete) {
  YAML::Node doc = load_document();
  std::set<std::string> problems, operation_ids;
  for (const auto& [key, op] : documented_operations(doc)) {
    if (!op["operationId"])
      problems.insert(key + ": no operationId");
    else if (!operation_ids.insert(op["operationId"].as<std::string>()).second)
      problems.insert(key + ": duplicate operationId " + op["operationId"].as<std::string>());
    if (!op["responses"] || !op["responses"].IsMap() || op["responses"].size() == 0) {
      problems.insert(key + ": no responses");
      continue;
    }
    bool success = false;
    for (const auto& response : op["responses"]) {
      auto code = response.first.as<std::string>();
      if (!code.empty() && code[0] == '2') success = true;
    }
    if (!success) problems.insert(key + ": no 2xx response");
  }
  EXPECT_TRUE(problems.empty()) << "incomplete operations:" << join(problems);
}

// The dispatcher rate-limits every /api/* route: each of them must document its 429.
TEST(OpenApiDocument, EveryApiOperationDocumentsRateLimiting) {
  YAML::Node doc = load_document();
  std::set<std::string> missing;
  for (const auto& [key, op] : documented_operations(doc)) {
    bool api = key.find(" /api/") != std::string::npos;
    if (api != static_cast<bool>(op["responses"]["429"])) missing.insert(key + (api ? ": no 429" : ": 429 on an unlimited route"));
  }
  EXPECT_TRUE(missing.empty()) << join(missing);
}

TEST(OpenApiDocument, EveryReferenceResolves) {
  YAML::Node doc = load_document();
  std::set<std::string> refs, broken;
  collect_refs(doc, refs);
  EXPECT_FALSE(refs.empty());
  for (const auto& ref : refs)
    if (!resolves(doc, ref)) broken.insert(ref);
  EXPECT_TRUE(broken.empty()) << "unresolved $ref:" << join(broken);
  for (const char* schema : {"User", "Organization", "Session", "Lead", "Activity", "Error", "LeadInput", "BulkRequest"})
    EXPECT_TRUE(doc["components"]["schemas"][schema]) << "components/schemas/" << schema << " is missing";
}

}  // namespace
}  // namespace lms::app
