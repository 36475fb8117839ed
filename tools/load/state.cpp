// Reading and writing the lms-load state file (see state.h).
#include "state.h"

#include <rapidjson/document.h>
#include <rapidjson/prettywriter.h>
#include <rapidjson/stringbuffer.h>

#include <sys/stat.h>

#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace lms::load {

std::size_t LoadState::account_count() const {
  std::size_t n = 0;
  for (const auto& org : organizations) n += org.accounts.size();
  return n;
}

std::string state_to_json(const LoadState& state) {
  rapidjson::StringBuffer buffer;
  rapidjson::PrettyWriter<rapidjson::StringBuffer> w(buffer);
  auto str = [&](const char* key, const std::string& value) {
    w.Key(key);
    w.String(value.c_str(), static_cast<rapidjson::SizeType>(value.size()));
  };
  w.StartObject();
  w.Key("version");
  w.Int(1);
  str("url", state.url);
  w.Key("organizations");
  w.StartArray();
  for (const auto& org : state.organizations) {
    w.StartObject();
    str("id", org.id);
    w.Key("leads");
    w.Int64(org.leads);
    w.Key("accounts");
    w.StartArray();
    for (const auto& a : org.accounts) {
      w.StartObject();
      str("userId", a.user_id);
      str("email", a.email);
      str("password", a.password);
      str("role", a.role);
      str("accessToken", a.access_token);
      str("refreshToken", a.refresh_token);
      w.Key("accessExpiresAt");
      w.Int64(a.access_expires_at_ms);
      w.EndObject();
    }
    w.EndArray();
    w.EndObject();
  }
  w.EndArray();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize()) + "\n";
}

namespace {

std::string member_string(const rapidjson::Value& v, const char* key, const std::string& where) {
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsString())
    throw std::invalid_argument(where + "." + key + ": expected a string");
  return std::string(it->value.GetString(), it->value.GetStringLength());
}

std::int64_t member_int(const rapidjson::Value& v, const char* key, const std::string& where) {
  auto it = v.FindMember(key);
  if (it == v.MemberEnd() || !it->value.IsInt64()) throw std::invalid_argument(where + "." + key + ": expected an integer");
  return it->value.GetInt64();
}

}  // namespace

LoadState state_from_json(const std::string& json) {
  rapidjson::Document doc;
  doc.Parse(json.c_str(), json.size());
  if (doc.HasParseError() || !doc.IsObject()) throw std::invalid_argument("not a JSON object");
  if (member_int(doc, "version", "state") != 1) throw std::invalid_argument("state.version: expected 1");
  LoadState state;
  state.url = member_string(doc, "url", "state");
  auto orgs = doc.FindMember("organizations");
  if (orgs == doc.MemberEnd() || !orgs->value.IsArray()) throw std::invalid_argument("state.organizations: expected an array");
  for (rapidjson::SizeType i = 0; i < orgs->value.Size(); ++i) {
    const auto& o = orgs->value[i];
    std::string where = "state.organizations[" + std::to_string(i) + "]";
    if (!o.IsObject()) throw std::invalid_argument(where + ": expected an object");
    Organization org;
    org.id = member_string(o, "id", where);
    org.leads = member_int(o, "leads", where);
    auto accounts = o.FindMember("accounts");
    if (accounts == o.MemberEnd() || !accounts->value.IsArray() || accounts->value.Empty())
      throw std::invalid_argument(where + ".accounts: expected a non-empty array");
    for (rapidjson::SizeType k = 0; k < accounts->value.Size(); ++k) {
      const auto& a = accounts->value[k];
      std::string at = where + ".accounts[" + std::to_string(k) + "]";
      if (!a.IsObject()) throw std::invalid_argument(at + ": expected an object");
      Account account{member_string(a, "userId", at),       member_string(a, "email", at),
                      member_string(a, "password", at),     member_string(a, "role", at),
                      member_string(a, "accessToken", at),  member_string(a, "refreshToken", at),
                      member_int(a, "accessExpiresAt", at)};
      if (account.role != "admin" && account.role != "manager" && account.role != "agent")
        throw std::invalid_argument(at + ".role: expected admin, manager or agent");
      org.accounts.push_back(std::move(account));
    }
    state.organizations.push_back(std::move(org));
  }
  if (state.organizations.empty()) throw std::invalid_argument("state.organizations: empty (run lms-load setup)");
  return state;
}

LoadState load_state(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read the state file " + path + " (run lms-load setup first)");
  std::stringstream text;
  text << in.rdbuf();
  try {
    return state_from_json(text.str());
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error("the state file " + path + " is malformed: " + e.what());
  }
}

void save_state(const std::string& path, const LoadState& state) {
  std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::trunc);
    if (!out) throw std::runtime_error("cannot write " + temporary);
    out << state_to_json(state);
    if (!out.flush()) throw std::runtime_error("cannot write " + temporary);
  }
  ::chmod(temporary.c_str(), 0600);
  if (std::rename(temporary.c_str(), path.c_str()) != 0) throw std::runtime_error("cannot replace " + path);
}

}  // namespace lms::load
