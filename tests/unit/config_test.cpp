// Server configuration: duration/size parsing and the CLI11 serve options with LMS_* variables.
#include <gtest/gtest.h>

#include <CLI/CLI.hpp>

#include <cstdlib>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "ops/config.h"

namespace lms::ops {
namespace {

using namespace std::chrono_literals;

TEST(ParseDuration, Units) {
  EXPECT_EQ(parse_duration("500ms"), 500ms);
  EXPECT_EQ(parse_duration("10s"), 10s);
  EXPECT_EQ(parse_duration("15m"), 15min);
  EXPECT_EQ(parse_duration("2h"), 2h);
  EXPECT_EQ(parse_duration("30d"), std::chrono::milliseconds(30LL * 24 * 3600 * 1000));
  EXPECT_EQ(parse_duration("0ms"), 0ms);
  EXPECT_EQ(parse_duration("1ms"), 1ms);
}

TEST(ParseDuration, BareNumberIsSeconds) {
  EXPECT_EQ(parse_duration("10"), 10s);
  EXPECT_EQ(parse_duration("0"), 0s);
  EXPECT_EQ(parse_duration("3600"), 1h);
}

TEST(ParseDuration, BadTextIsRejected) {
  for (std::string_view bad : {"", "s", "ms", "10x", "10sec", "10 s", " 10s", "10s ", "-5s", "+5s", "1.5s", "1e3",
                               "10s5", "5mss", "abc", "0x10", "10.", "h2"})
    EXPECT_FALSE(parse_duration(bad).has_value()) << "'" << bad << "'";
}

TEST(ParseDuration, OverflowIsRejected) {
  EXPECT_FALSE(parse_duration("99999999999999999999999").has_value());  // does not fit in 64 bits
  EXPECT_FALSE(parse_duration("18446744073709551615ms").has_value());   // fits, but absurd
  EXPECT_FALSE(parse_duration("18446744073709551615").has_value());     // * 1000 would wrap
  EXPECT_FALSE(parse_duration("9223372036854775807d").has_value());     // * 86400000 would wrap
  EXPECT_FALSE(parse_duration("100000000h").has_value());
  EXPECT_FALSE(parse_duration("1000000d").has_value());
  // Large but sane values still work.
  EXPECT_EQ(parse_duration("3650d"), std::chrono::milliseconds(3650LL * 86'400'000));
}

TEST(ParseSize, Units) {
  EXPECT_EQ(parse_size("512"), 512u);
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("16KB"), 16u * 1024);
  EXPECT_EQ(parse_size("1MB"), 1024u * 1024);
  EXPECT_EQ(parse_size("2GB"), 2ull * 1024 * 1024 * 1024);
  EXPECT_EQ(parse_size("64B"), 64u);
  EXPECT_EQ(parse_size("8KiB"), 8u * 1024);
}

TEST(ParseSize, BadTextIsRejected) {
  for (std::string_view bad : {"", "KB", "1TB", "1.5MB", "-1", "1 KB", " 1", "1KB ", "1MBB", "MB1", "1e6",
                               "99999999999999999999999", "2000000GB", "18446744073709551615KB"})
    EXPECT_FALSE(parse_size(bad).has_value()) << "'" << bad << "'";
}

TEST(EffectiveThreads, ConfiguredWinsElseCores) {
  EXPECT_EQ(effective_threads(3), 3u);
  EXPECT_GE(effective_threads(0), 1u);
}

// Sets an environment variable for the scope of a test.
class ScopedEnv {
 public:
  ScopedEnv(const char* name, const char* value) : name_(name) {
    if (const char* old = std::getenv(name)) old_ = old;
    ::setenv(name, value, 1);
  }
  ~ScopedEnv() {
    if (old_) ::setenv(name_.c_str(), old_->c_str(), 1);
    else ::unsetenv(name_.c_str());
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;

 private:
  std::string name_;
  std::optional<std::string> old_;
};

class ServeOptions : public ::testing::Test {
 protected:
  void SetUp() override {
    // Make sure stray LMS_* variables from the environment cannot leak into the results.
    for (const char* name : {"LMS_PORT", "LMS_BIND", "LMS_DB", "LMS_IDLE_TIMEOUT", "LMS_MAX_BODY_SIZE",
                             "LMS_ACCESS_TTL", "LMS_REFRESH_TTL", "LMS_LOG_LEVEL", "LMS_DEMO", "LMS_TOKEN_SECRET",
                             "LMS_HEADER_TIMEOUT", "LMS_BODY_TIMEOUT", "LMS_SHUTDOWN_TIMEOUT",
                             "LMS_MAX_HEADER_SIZE", "LMS_THREADS", "LMS_DB_READERS", "LMS_HASH_THREADS",
                             "LMS_LOG_REQUESTS"})
      cleared_.emplace_back(std::make_unique<Cleared>(name));
    add_serve_options(app_, config_);
  }

  void parse(const std::string& args) { app_.parse(args, false); }

  struct Cleared {
    explicit Cleared(const char* n) : name(n) {
      if (const char* old = std::getenv(n)) value = old;
      ::unsetenv(n);
    }
    ~Cleared() {
      if (value) ::setenv(name.c_str(), value->c_str(), 1);
    }
    std::string name;
    std::optional<std::string> value;
  };

  std::vector<std::unique_ptr<Cleared>> cleared_;
  CLI::App app_{"lms test"};
  ServeConfig config_;
};

TEST_F(ServeOptions, DefaultsWhenNothingIsGiven) {
  parse("");
  ServeConfig defaults;
  EXPECT_EQ(config_.port, defaults.port);
  EXPECT_EQ(config_.bind, defaults.bind);
  EXPECT_EQ(config_.db, defaults.db);
  EXPECT_EQ(config_.idle_timeout, defaults.idle_timeout);
  EXPECT_EQ(config_.body_limit, defaults.body_limit);
  EXPECT_EQ(config_.access_ttl, defaults.access_ttl);
  EXPECT_FALSE(config_.demo);
}

TEST_F(ServeOptions, FlagsAreParsedIntoServeConfig) {
  parse("--port 0 --bind 127.0.0.1 --db x --idle-timeout 5s --max-body-size 2MB");
  EXPECT_EQ(config_.port, 0);
  EXPECT_EQ(config_.bind, "127.0.0.1");
  EXPECT_EQ(config_.db, "x");
  EXPECT_EQ(config_.idle_timeout, 5s);
  EXPECT_EQ(config_.body_limit, 2u * 1024 * 1024);
  // Untouched settings keep their defaults.
  EXPECT_EQ(config_.header_timeout, 10s);
  EXPECT_EQ(config_.header_limit, 16u * 1024);
  EXPECT_EQ(config_.access_ttl, 15min);
}

TEST_F(ServeOptions, MoreFlags) {
  parse("--access-ttl 1h --refresh-ttl 7d --header-timeout 250ms --max-header-size 8KB --threads 3 "
        "--log-level warn --demo --token-secret abcdefghijabcdefghijabcdefghij12");
  EXPECT_EQ(config_.access_ttl, 1h);
  EXPECT_EQ(config_.refresh_ttl, std::chrono::hours(7 * 24));
  EXPECT_EQ(config_.header_timeout, 250ms);
  EXPECT_EQ(config_.header_limit, 8u * 1024);
  EXPECT_EQ(config_.io_threads, 3u);
  EXPECT_EQ(config_.log_level, "warn");
  EXPECT_TRUE(config_.demo);
  EXPECT_EQ(config_.token_secret, "abcdefghijabcdefghijabcdefghij12");
}

TEST_F(ServeOptions, EnvironmentVariableUsedWhenFlagAbsent) {
  ScopedEnv port("LMS_PORT", "9123");
  ScopedEnv timeout("LMS_IDLE_TIMEOUT", "90s");
  ScopedEnv size("LMS_MAX_BODY_SIZE", "4KB");
  parse("");
  EXPECT_EQ(config_.port, 9123);
  EXPECT_EQ(config_.idle_timeout, 90s);
  EXPECT_EQ(config_.body_limit, 4096u);
}

TEST_F(ServeOptions, FlagWinsOverEnvironmentVariable) {
  ScopedEnv port("LMS_PORT", "9123");
  ScopedEnv timeout("LMS_IDLE_TIMEOUT", "90s");
  parse("--port 7000 --idle-timeout 5s");
  EXPECT_EQ(config_.port, 7000);
  EXPECT_EQ(config_.idle_timeout, 5s);
}

TEST_F(ServeOptions, InvalidDurationFlagThrowsParseError) {
  EXPECT_THROW(parse("--idle-timeout 5parsecs"), CLI::ParseError);
}

TEST_F(ServeOptions, InvalidDurationInEnvironmentThrowsParseError) {
  ScopedEnv timeout("LMS_IDLE_TIMEOUT", "soon");
  EXPECT_THROW(parse(""), CLI::ParseError);
}

TEST_F(ServeOptions, InvalidSizeThrowsParseError) {
  EXPECT_THROW(parse("--max-body-size 2TB"), CLI::ParseError);
}

TEST_F(ServeOptions, ZeroSizeThrowsParseError) { EXPECT_THROW(parse("--max-body-size 0"), CLI::ParseError); }

TEST_F(ServeOptions, PortOutOfRangeThrowsParseError) { EXPECT_THROW(parse("--port 70000"), CLI::ParseError); }

TEST_F(ServeOptions, NonNumericPortThrowsParseError) { EXPECT_THROW(parse("--port http"), CLI::ParseError); }

TEST_F(ServeOptions, UnknownLogLevelThrowsParseError) {
  EXPECT_THROW(parse("--log-level verbose"), CLI::ParseError);
}

TEST_F(ServeOptions, UnknownFlagThrowsParseError) { EXPECT_THROW(parse("--prot 80"), CLI::ParseError); }

TEST(DbOption, FlagAndEnvironment) {
  {
    CLI::App app{"t"};
    std::string db = "default.db";
    add_db_option(app, db);
    app.parse("--db other.db", false);
    EXPECT_EQ(db, "other.db");
  }
  {
    ScopedEnv env("LMS_DB", "/tmp/from-env.db");
    CLI::App app{"t"};
    std::string db = "default.db";
    add_db_option(app, db);
    app.parse("", false);
    EXPECT_EQ(db, "/tmp/from-env.db");
  }
}

}  // namespace
}  // namespace lms::ops
