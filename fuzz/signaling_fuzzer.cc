// Signaling messages come from any WebSocket client (and, for a client, from the relay):
// both parsers must never crash, and whatever they accept must serialize, parse back to an
// equal message, and serialize to the same text the second time. The error code a failed
// parse reports must be one a parser can give, and its message must be fit to send back
// in an error message (the relay does; Serialize throws on text that is not UTF-8).
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <string_view>

#include "parley/session/signaling.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

bool IsParseErrorCode(parley::session::ErrorCode code) {
  using parley::session::ErrorCode;
  return code == ErrorCode::kBadMessage || code == ErrorCode::kUnsupportedVersion ||
         code == ErrorCode::kUnsupportedType;
}

template <typename Message, typename Parse>
void CheckRoundTrip(std::string_view text, Parse parse) {
  parley::session::ErrorCode code = parley::session::ErrorCode::kInternal;
  parley::Result<Message> parsed = parse(text, &code);
  if (!parsed) {
    Check(IsParseErrorCode(code) && !parsed.error().message.empty());
    try {
      (void)parley::session::Serialize(parley::session::ErrorMessage{code, parsed.error().message});
    } catch (const std::invalid_argument&) {
      std::abort();
    }
    return;
  }
  const std::string written = parley::session::Serialize(*parsed);
  Check(written.size() <= parley::session::kMaxMessageBytes);
  parley::Result<Message> again = parse(written, nullptr);
  Check(again.ok() && *again == *parsed);
  Check(parley::session::Serialize(*again) == written);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::session;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckRoundTrip<ClientMessage>(
      text, [](std::string_view t, ErrorCode* code) { return ParseClientMessage(t, code); });
  CheckRoundTrip<RelayMessage>(
      text, [](std::string_view t, ErrorCode* code) { return ParseRelayMessage(t, code); });
  return 0;
}
