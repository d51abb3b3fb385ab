#include "parley/session/validation.h"

#include <arpa/inet.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <optional>
#include <string>

namespace parley::session {
namespace {

bool IsNameChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
         c == '_' || c == '-';
}

// The port of "...:port": decimal 0..65535 without sign or leading zeros.
std::optional<uint32_t> ParsePort(std::string_view text) {
  if (text.empty() || text.size() > 5) return std::nullopt;
  if (text.size() > 1 && text[0] == '0') return std::nullopt;
  uint32_t port = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    port = port * 10 + static_cast<uint32_t>(c - '0');
  }
  if (port > 65535) return std::nullopt;
  return port;
}

// inet_pton needs a NUL-terminated host; longer than any numeric address is refused.
bool ParsesAs(int family, std::string_view host) {
  if (host.empty() || host.size() >= INET6_ADDRSTRLEN) return false;
  const std::string copy(host);
  std::array<uint8_t, 16> bytes{};
  return inet_pton(family, copy.c_str(), bytes.data()) == 1;
}

std::optional<uint32_t> PortOfNumericAddress(std::string_view address) {
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return std::nullopt;
  std::string_view host = address.substr(0, colon);
  const std::optional<uint32_t> port = ParsePort(address.substr(colon + 1));
  if (!port) return std::nullopt;
  if (!host.empty() && host.front() == '[') {
    if (host.size() < 2 || host.back() != ']') return std::nullopt;
    if (!ParsesAs(AF_INET6, host.substr(1, host.size() - 2))) return std::nullopt;
    return port;
  }
  if (!ParsesAs(AF_INET, host)) return std::nullopt;
  return port;
}

// Appends `c` if it is printable ASCII, else (and for ' and \ when `escape_quotes`) its
// \xNN escape: what a message shows of bytes from outside, always valid UTF-8.
void AppendPrintable(std::string& out, char c, bool escape_quotes) {
  const auto byte = static_cast<unsigned char>(c);
  if (byte < 0x20 || byte > 0x7e || (escape_quotes && (byte == '\'' || byte == '\\'))) {
    out += fmt::format("\\x{:02x}", byte);
  } else {
    out += c;
  }
}

}  // namespace

bool IsValidName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxNameChars &&
         std::all_of(name.begin(), name.end(), IsNameChar);
}

Status CheckName(std::string_view field, std::string_view name) {
  if (IsValidName(name)) return Status::Ok();
  return Error{fmt::format("{}: expected 1..{} characters of A-Z a-z 0-9 . _ - (got {} {})", field,
                           kMaxNameChars, name.size(),
                           name.size() == 1 ? "character" : "characters")};
}

bool IsNumericSocketAddress(std::string_view address) {
  return PortOfNumericAddress(address).has_value();
}

Status CheckSocketAddress(std::string_view field, std::string_view address, bool nonzero_port) {
  const std::optional<uint32_t> port = PortOfNumericAddress(address);
  if (!port) {
    return Error{fmt::format(
        "{}: expected a numeric address such as 203.0.113.7:40000 or [2001:db8::1]:40000 "
        "(got {})",
        field, Quote(address))};
  }
  if (nonzero_port && *port == 0) {
    return Error{fmt::format("{}: port 0 is not reachable (got {})", field, Quote(address))};
  }
  return Status::Ok();
}

std::string Quote(std::string_view text) {
  constexpr size_t kMaxShownBytes = 40;
  std::string out = "'";
  for (size_t i = 0; i < text.size() && i < kMaxShownBytes; ++i) {
    AppendPrintable(out, text[i], /*escape_quotes=*/true);
  }
  out += text.size() > kMaxShownBytes ? "'..." : "'";
  return out;
}

std::string JsonErrorText(std::string_view what) {
  constexpr size_t kMaxBytes = 160;
  if (what.starts_with("[json.exception.")) {
    if (const size_t end = what.find("] "); end != std::string_view::npos) {
      what.remove_prefix(end + 2);
    }
  }
  std::string out;
  for (size_t i = 0; i < what.size() && i < kMaxBytes; ++i) {
    AppendPrintable(out, what[i], /*escape_quotes=*/false);
  }
  if (what.size() > kMaxBytes) out += "...";
  return out;
}

}  // namespace parley::session
