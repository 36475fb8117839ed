// lms: the command line. `serve` runs the server; `migrate`, `user create` and `version`
// are operator tools over the same store and services.
#include <CLI/CLI.hpp>
#include <sodium.h>

#include <unistd.h>

#include <iostream>

#include "accounts/accounts_service.h"
#include "accounts/directory.h"
#include "app/app.h"
#include "app/seed.h"
#include "auth/auth_service.h"
#include "common/errors.h"
#include "ops/config.h"
#include "ops/log.h"
#include "store/sqlite/sqlite_store.h"

namespace {

std::string random_password() {
  static constexpr char alphabet[] = "abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  std::string out;
  for (int i = 0; i < 16; ++i) out.push_back(alphabet[randombytes_uniform(sizeof alphabet - 1)]);
  return out;
}

int create_user(const std::string& db, const std::string& org, const std::string& email, const std::string& role,
                const std::string& name, std::string password) {
  bool generated = password.empty();
  if (generated) password = random_password();
  auto store = lms::app::open_store(db, 2);
  if (!lms::app::block_on(store->accounts().find_organization(org))) {
    std::cerr << "lms: no organization with id " << org << "\n";
    return 1;
  }
  lms::auth::TokenSigner signer(std::string(32, 'x'));  // unused: the CLI issues no tokens
  lms::auth::PasswordHasher hasher;
  boost::asio::thread_pool hashing(1);
  lms::accounts::AccountDirectory directory(store->accounts(), std::chrono::seconds(5));
  lms::auth::AuthService auth(store->accounts(), directory, signer, hasher, hashing.get_executor(), {});
  lms::accounts::AccountsService accounts(store->accounts(), directory, auth);
  auto user = lms::app::block_on(
      accounts.create_user_in(org, {name.empty() ? email.substr(0, email.find('@')) : name, email, password, role}));
  std::cout << "created " << lms::accounts::role_name(user.role) << " " << user.email << " (id " << user.id << ")\n";
  if (generated) std::cout << "password: " << password << "\n";
  hashing.join();
  store->close();
  return 0;
}

int run_seed(const std::string& db, const std::string& org, std::uint64_t leads, int agents, std::size_t batch,
             const std::string& password) {
  auto store = lms::app::open_store(db, 2);
  lms::auth::PasswordHasher hasher;
  std::string hash = hasher.hash(password);
  bool tty = isatty(STDOUT_FILENO);
  auto result = lms::app::seed_organization(*store, org, leads, agents, hash, batch, [&](std::int64_t done) {
    if (tty) std::cout << "\rseeded " << done << " / " << leads << std::flush;
  });
  if (tty) std::cout << "\n";
  std::cout << "inserted " << result.inserted << " leads over " << result.agents << " agents in " << result.seconds
            << " s (" << static_cast<std::int64_t>(static_cast<double>(result.inserted) / result.seconds)
            << " leads/s), search index complete " << result.index_seconds
            << " s later; agents' password: " << password << "\n";
  store->close();
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (sodium_init() < 0) {
    std::cerr << "lms: libsodium failed to initialize\n";
    return 1;
  }
  CLI::App cli{"lms: a lead management system server"};
  cli.require_subcommand(1);

  lms::ops::ServeConfig config;
  auto* serve = cli.add_subcommand("serve", "run the HTTP server");
  lms::ops::add_serve_options(*serve, config);

  std::string migrate_db = config.db;
  auto* migrate = cli.add_subcommand("migrate", "apply database migrations and exit");
  lms::ops::add_db_option(*migrate, migrate_db);

  auto* user = cli.add_subcommand("user", "manage users");
  user->require_subcommand(1);
  auto* user_create = user->add_subcommand("create", "create a user in an organization");
  std::string user_db = config.db, org, email, role, name, password;
  lms::ops::add_db_option(*user_create, user_db);
  user_create->add_option("--org", org, "organization id")->required();
  user_create->add_option("--email", email, "email address")->required();
  user_create->add_option("--role", role, "admin, manager or agent")
      ->required()
      ->check(CLI::IsMember({"admin", "manager", "agent"}));
  user_create->add_option("--name", name, "display name (default: the email's local part)");
  user_create->add_option("--password", password, "password (default: generated and printed)")
      ->envname("LMS_USER_PASSWORD");

  auto* seed = cli.add_subcommand("seed", "fill an organization with synthetic agents and leads");
  std::string seed_db = config.db, seed_org, seed_password = "agent-password";
  std::uint64_t seed_leads = 10000;
  int seed_agents = 10;
  std::size_t seed_batch = 10000;
  lms::ops::add_db_option(*seed, seed_db);
  seed->add_option("--org", seed_org, "organization id")->required();
  seed->add_option("--leads", seed_leads, "number of leads")->capture_default_str();
  seed->add_option("--agents", seed_agents, "number of agent users to create")->capture_default_str();
  seed->add_option("--batch", seed_batch, "leads per transaction")->capture_default_str();
  seed->add_option("--agent-password", seed_password, "password of the created agents")->capture_default_str();

  auto* version = cli.add_subcommand("version", "print the version");

  try {
    cli.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return cli.exit(e);
  }

  try {
    if (*version) {
      std::cout << "lms " << LMS_VERSION << "\n";
      return 0;
    }
    if (*migrate) {
      auto store = lms::app::open_store(migrate_db, 2);  // opening applies the migrations
      store->close();
      std::cout << "database " << migrate_db << " is up to date\n";
      return 0;
    }
    if (*user_create) return create_user(user_db, org, email, role, name, password);
    if (*seed) return run_seed(seed_db, seed_org, seed_leads, seed_agents, seed_batch, seed_password);
    if (*serve) {
      lms::ops::init_logging(config.log_level);
      int code = lms::app::serve(config);
      lms::ops::shutdown_logging();
      return code;
    }
  } catch (const lms::ApiError& e) {
    std::cerr << "lms: " << e.what() << "\n";
    for (const auto& d : e.details()) std::cerr << "  " << d.field << ": " << d.message << "\n";
    return 1;
  } catch (const std::exception& e) {
    if (*serve) {
      lms::ops::LogLine("fatal").str("error", e.what()).error();
      lms::ops::shutdown_logging();
    }
    std::cerr << "lms: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
