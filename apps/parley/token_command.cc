// parley token --config relay.json --room R --identity I [--ttl S] [--rights a,b]
#include "token_command.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <chrono>
#include <cstdlib>
#include <ctime>

#include "parley/base/clock.h"
#include "parley/session/relay_config.h"
#include "parley/session/token.h"
#include "parley/session/validation.h"

namespace parley::app {
namespace {

constexpr int kExitFailure = 1;

// The secret from the variable or the config file; Error says which and why.
Result<std::string> ReadSecret(const TokenArgs& args) {
  if (!args.secret_env.empty()) {
    const char* value = std::getenv(args.secret_env.c_str());
    if (value == nullptr || *value == '\0') {
      return Error{fmt::format("environment variable {} is not set", args.secret_env)};
    }
    const std::string secret(value);
    if (secret.size() < session::kMinSecretBytes) {
      return Error{
          fmt::format("{}: {} bytes < the {} required (make one with: openssl rand "
                      "-base64 48)",
                      args.secret_env, secret.size(), session::kMinSecretBytes)};
    }
    return secret;
  }
  Result<session::RelayConfig> config = session::LoadRelayConfig(args.config);
  if (!config) return config.error();
  return std::move(config->token_secret);
}

std::string FormatUtc(int64_t unix_s) {
  const auto time = static_cast<std::time_t>(unix_s);
  std::tm tm{};
  char text[32] = {};
  if (gmtime_r(&time, &tm) == nullptr ||
      std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
    return fmt::format("Unix time {}", unix_s);
  }
  return text;
}

}  // namespace

int RunToken(const TokenArgs& args) {
  if (args.config.empty() == args.secret_env.empty()) {
    fmt::print(stderr,
               "parley token: give the relay's config file (--config) or the environment "
               "variable holding the secret (--secret-env), one of the two\n");
    return kExitFailure;
  }
  for (const Status& status :
       {session::CheckName("--room", args.room), session::CheckName("--identity", args.identity)}) {
    if (!status) {
      fmt::print(stderr, "parley token: {}\n", status.error().message);
      return kExitFailure;
    }
  }
  if (args.ttl_s < 1 || args.ttl_s > kMaxTtlS) {
    fmt::print(stderr, "parley token: --ttl: {} s is not 1..{} (366 days)\n", args.ttl_s, kMaxTtlS);
    return kExitFailure;
  }
  Result<session::Rights> rights = session::ParseRights(args.rights);
  if (!rights) {
    fmt::print(stderr, "parley token: --{}\n", rights.error().message);
    return kExitFailure;
  }
  Result<std::string> secret = ReadSecret(args);
  if (!secret) {
    fmt::print(stderr, "parley token: {}\n", secret.error().message);
    return kExitFailure;
  }
  const int64_t now_unix_s = std::chrono::duration_cast<std::chrono::seconds>(
                                 SystemClock::Instance().WallNow().time_since_epoch())
                                 .count();
  const session::TokenClaims claims{.room = args.room,
                                    .identity = args.identity,
                                    .expires_unix_s = now_unix_s + args.ttl_s,
                                    .rights = *rights};
  fmt::print("{}\n", session::MintToken(claims, *secret));
  fmt::print(stderr, "parley token: room {}, identity {}, rights {}, expires {} (in {} s)\n",
             claims.room, claims.identity,
             *rights == session::Rights::kNone
                 ? std::string("none")
                 : fmt::format("{}", fmt::join(session::RightNames(*rights), ",")),
             FormatUtc(claims.expires_unix_s), args.ttl_s);
  return 0;
}

}  // namespace parley::app
