// parley token: mints a join token (session/token.h) for one identity in one room, with
// the secret of the relay's configuration. Declared apart from commands.h; main.cc parses
// the command line and calls RunToken.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace parley::app {

struct TokenArgs {
  // Where the secret comes from: the relay's config file (its "token_secret"), or the
  // name of an environment variable that holds the secret. Exactly one of the two.
  std::string config;
  std::string secret_env;
  std::string room;      // a name: 1..64 characters of A-Z a-z 0-9 . _ -
  std::string identity;  // a name
  int64_t ttl_s = 3600;  // validity from now, seconds: 1..kMaxTtlS
  std::vector<std::string> rights = {"publish", "subscribe"};  // publish, subscribe, admin
};

// Longest validity accepted: 366 days. A token cannot be revoked before it expires
// (short of changing the secret, which revokes all of them).
inline constexpr int64_t kMaxTtlS = 366 * 24 * 3600;

// Prints the token alone on stdout (for TOKEN=$(parley token ...)) and a summary on
// stderr. Exit code 0; 1, with one line naming the cause, when the secret cannot be had
// (config unreadable or invalid, variable unset, secret too short) or on a bad argument
// (no or both secret sources, a bad room, identity, ttl or right).
int RunToken(const TokenArgs& args);

}  // namespace parley::app
