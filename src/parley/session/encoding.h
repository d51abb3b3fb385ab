// Text encodings of bytes used by tokens and signaling: base64url without padding (join
// tokens, RFC 4648 §5), standard base64 with padding (SRTP keys in signaling, RFC 4648 §4)
// and lowercase hexadecimal (the per-join hello secret).
//
// The base64 codecs sit on OpenSSL's EVP_EncodeBlock/EVP_DecodeBlock; only the alphabet
// mapping of base64url is done here. Decoders accept canonical text only: the unused low
// bits of the last character must be zero and padding must be exact. So one byte string
// has exactly one encoding, and a token whose signature part is altered in its last
// character cannot decode to the same bytes.
//
// Decoding never throws; the Error names the offset of the first bad character. Inputs
// are bounded (kMaxEncodedChars) so OpenSSL's int lengths cannot overflow.
// Pure functions; thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "parley/base/result.h"

namespace parley::session {

// Longest text the decoders accept (1 MiB): far above any token, key or secret.
inline constexpr size_t kMaxEncodedChars = 1 << 20;

// RFC 4648 §5 alphabet (A-Z a-z 0-9 - _), no '=' padding.
std::string Base64UrlEncode(std::span<const uint8_t> bytes);
[[nodiscard]] Result<std::vector<uint8_t>> Base64UrlDecode(std::string_view text);

// RFC 4648 §4 alphabet (A-Z a-z 0-9 + /), padded with '=' to a multiple of 4.
std::string Base64Encode(std::span<const uint8_t> bytes);
[[nodiscard]] Result<std::vector<uint8_t>> Base64Decode(std::string_view text);

// Two lowercase hex digits per byte. The decoder accepts either case.
std::string HexEncode(std::span<const uint8_t> bytes);
[[nodiscard]] Result<std::vector<uint8_t>> HexDecode(std::string_view text);

// The bytes of a string, for the functions above.
inline std::span<const uint8_t> AsBytes(std::string_view text) {
  return {reinterpret_cast<const uint8_t*>(text.data()), text.size()};
}

}  // namespace parley::session
