// lms: the command line. `serve` runs the server; `migrate`, `user create` and `version`
// are operator tools over the same store and services.
#include <CLI/CLI.hpp>
#include <sodium.h>

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <thread>

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

struct ImportOptions {
  std::string db, org, file, dedupe = "skip", assign = "none", source = "import", mapping;
  bool dry_run = false;
  std::size_t batch_rows = 10000;
};

// Runs the server's import pipeline on a file: the job is created as the organization's
// first admin, runs on the import threads, and the counts are printed as JSON at the end.
int run_import(const ImportOptions& o) {
  lms::ops::init_stderr_logging("info");  // stdout carries the counts only
  auto store = lms::app::open_store(o.db, 2);
  auto users = lms::app::block_on(store->accounts().list_users(o.org));
  auto admin = std::find_if(users.begin(), users.end(),
                            [](const lms::accounts::User& u) { return u.role == lms::accounts::Role::admin && u.active; });
  if (admin == users.end()) {
    std::cerr << "lms: no active admin in organization " << o.org << "\n";
    return 1;
  }
  lms::accounts::AccountDirectory directory(store->accounts(), std::chrono::seconds(5));
  auto spool = lms::app::spool_dir(o.db);
  std::filesystem::create_directories(spool);
  auto copy = spool / ("cli-" + std::to_string(::getpid()) + ".csv");
  std::filesystem::copy_file(o.file, copy, std::filesystem::copy_options::overwrite_existing);
  lms::imports::ImportService imports(*store, directory, nullptr,
                                      lms::imports::ImportSettings{spool, SIZE_MAX, o.batch_rows, 1});
  lms::imports::Upload upload{copy, std::filesystem::path(o.file).filename().string(), o.dedupe, o.assign, o.source,
                              o.mapping.empty() ? std::nullopt : std::optional<std::string>(o.mapping),
                              std::string(o.dry_run ? "true" : "false")};
  auto job = lms::app::block_on(imports.submit({admin->id, o.org, lms::accounts::Role::admin}, upload));
  bool tty = isatty(STDOUT_FILENO);
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    auto now = lms::app::block_on(store->imports().find_job(o.org, job.id));
    if (!now) break;
    job = *now;
    if (tty && job.total_rows) {
      auto total = std::max<std::int64_t>(1, *job.total_rows);
      int width = 40, filled = static_cast<int>(width * job.processed_rows / total);
      std::cout << "\r[" << std::string(filled, '#') << std::string(width - filled, ' ') << "] " << job.processed_rows
                << " / " << *job.total_rows << std::flush;
    }
    if (job.state != "queued" && job.state != "running") break;
  }
  if (tty) std::cout << "\n";
  imports.stop();
  store->close();
  std::cout << "{\"id\":\"" << job.id << "\",\"state\":\"" << job.state << "\",\"totalRows\":" << job.total_rows.value_or(0)
            << ",\"inserted\":" << job.counts.inserted << ",\"updated\":" << job.counts.updated
            << ",\"duplicates\":" << job.counts.duplicates << ",\"invalid\":" << job.counts.invalid << "}\n";
  return job.state == "completed" ? 0 : 1;
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
  // New rows are searchable at once (searches test unindexed rows directly); close() also
  // finishes what the engine defers (SQLite: the search index), so the tool exits with it done.
  const auto closing = std::chrono::steady_clock::now();
  store->close();
  const double index_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - closing).count();
  std::cout << "inserted " << result.inserted << " leads over " << result.agents << " agents in " << result.seconds
            << " s (" << static_cast<std::int64_t>(static_cast<double>(result.inserted) / result.seconds)
            << " leads/s), search index complete " << index_seconds << " s later; agents' password: " << password
            << "\n";
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

  auto* import = cli.add_subcommand("import", "import a CSV file into an organization (the server's pipeline)");
  ImportOptions import_options;
  import_options.db = config.db;
  lms::ops::add_db_option(*import, import_options.db);
  import->add_option("file", import_options.file, "the CSV file")->required()->check(CLI::ExistingFile);
  import->add_option("--org", import_options.org, "organization id")->required();
  import->add_option("--dedupe", import_options.dedupe, "skip or update")->capture_default_str();
  import->add_option("--assign", import_options.assign, "none, round_robin or a user id")->capture_default_str();
  import->add_option("--source", import_options.source, "source of rows without one")->capture_default_str();
  import->add_option("--mapping", import_options.mapping, "JSON {csvHeader: field}");
  import->add_flag("--dry-run", import_options.dry_run, "validate and count without writing leads");
  import->add_option("--batch-rows", import_options.batch_rows, "rows per committed batch")->capture_default_str();

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
    if (*import) return run_import(import_options);
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
