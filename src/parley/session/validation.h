// Syntax rules shared by join tokens, signaling messages and the relay's configuration, so
// that a room name the token command accepts is one the relay's parser accepts too.
//
// Names (rooms, identities, profile and codec names) are 1..64 characters of
// A-Z a-z 0-9 . _ - : safe in logs, file names (recordings are kept per room) and URLs
// without escaping. Socket addresses are numeric, as the net layer parses them:
// "203.0.113.7:40000" or "[2001:db8::1]:40000", port 0..65535.
//
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "parley/base/result.h"

namespace parley::session {

inline constexpr size_t kMaxNameChars = 64;

// True when `name` is 1..kMaxNameChars characters of A-Z a-z 0-9 . _ -.
bool IsValidName(std::string_view name);

// Ok, or an Error naming `field` and the rule: "join.room: expected 1..64 characters of
// A-Z a-z 0-9 . _ - (got 70 characters)".
[[nodiscard]] Status CheckName(std::string_view field, std::string_view name);

// True when `address` is "IPv4:port" or "[IPv6]:port" with a numeric port 0..65535 (no
// host names, no leading zeros in the port, no IPv6 zone).
bool IsNumericSocketAddress(std::string_view address);

// Ok, or an Error naming `field`: "media.address: expected a numeric address such as
// 203.0.113.7:40000 or [2001:db8::1]:40000 (got 'relay:1')". With `nonzero_port`, port 0
// (any port) is refused as well: an address given to peers must be reachable.
[[nodiscard]] Status CheckSocketAddress(std::string_view field, std::string_view address,
                                        bool nonzero_port);

// `text` in single quotes for an error message, safe to log and to send back: bytes outside
// printable ASCII (and the quote and backslash) appear as \xNN, and text longer than 40
// bytes is cut with "...". Error messages quote what a peer sent only through this.
std::string Quote(std::string_view text);

// The message of a JSON parser exception (nlohmann's what()) for an error message: its
// "[json.exception.parse_error.101] " tag dropped, cut to 160 bytes (a number that
// overflows is quoted whole by the library, and may be as long as the text). The library
// quotes the bytes it last read, which may be anything: bytes outside printable ASCII
// are written as \xNN (as Quote does), so the text is always valid UTF-8, fit for an
// error message on the wire.
std::string JsonErrorText(std::string_view what);

}  // namespace parley::session
