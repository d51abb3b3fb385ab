// Join tokens come from anyone who can open a WebSocket: VerifyToken must never crash on
// any text, and must never accept one, because the fuzzer does not know the secret (the
// seed corpus holds tokens minted with other secrets). The canonical base64url decoder is
// checked on the way: what it accepts re-encodes to the same text.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "parley/session/encoding.h"
#include "parley/session/token.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

// Never written anywhere else: no input can carry a MAC made with it.
constexpr std::string_view kSecret = "token-fuzzer-secret-not-in-any-corpus-4f1c2b";

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::session;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  const TokenCheck check = VerifyToken(text, kSecret, "standup", 1'767'225'600);
  Check(!check.ok() && !check.message.empty());
  Check(check.error == TokenError::kMissing ? text.empty() : !text.empty());

  parley::Result<std::vector<uint8_t>> decoded = Base64UrlDecode(text);
  if (decoded) Check(Base64UrlEncode(*decoded) == text);
  return 0;
}
