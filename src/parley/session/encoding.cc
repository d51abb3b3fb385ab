#include "parley/session/encoding.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <stdexcept>

namespace parley::session {
namespace {

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

bool IsBase64UrlChar(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Decodes padded standard base64 whose alphabet and length were checked by the caller.
std::vector<uint8_t> DecodeChecked(std::string_view text, size_t padding) {
  std::vector<uint8_t> bytes(text.size() / 4 * 3);
  if (text.empty()) return bytes;
  const int written =
      EVP_DecodeBlock(bytes.data(), reinterpret_cast<const unsigned char*>(text.data()),
                      static_cast<int>(text.size()));
  // Cannot fail on checked input; a failure would be an OpenSSL defect.
  if (written < 0 || static_cast<size_t>(written) != bytes.size()) {
    throw std::logic_error("EVP_DecodeBlock refused checked base64");
  }
  // EVP_DecodeBlock counts the zero bytes that padding stands for.
  bytes.resize(bytes.size() - padding);
  return bytes;
}

Error TooLong(size_t size) {
  return Error{fmt::format("{} characters > the {} accepted", size, kMaxEncodedChars)};
}

}  // namespace

std::string Base64Encode(std::span<const uint8_t> bytes) {
  if (bytes.size() > kMaxEncodedChars) {
    throw std::invalid_argument("Base64Encode: input larger than kMaxEncodedChars");
  }
  std::string text((bytes.size() + 2) / 3 * 4 + 1, '\0');  // + the NUL OpenSSL writes
  const int written = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(text.data()), bytes.data(),
                                      static_cast<int>(bytes.size()));
  text.resize(static_cast<size_t>(written));
  return text;
}

Result<std::vector<uint8_t>> Base64Decode(std::string_view text) {
  if (text.size() > kMaxEncodedChars) return TooLong(text.size());
  if (text.size() % 4 != 0) {
    return Error{fmt::format("length {} is not a multiple of 4", text.size())};
  }
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  for (size_t i = 0; i + padding < text.size(); ++i) {
    if (!IsBase64Char(text[i])) {
      return Error{fmt::format("invalid base64 character at offset {}", i)};
    }
  }
  std::vector<uint8_t> bytes = DecodeChecked(text, padding);
  if (Base64Encode(bytes) != text) {
    return Error{fmt::format("non-canonical base64 at offset {}", text.size() - padding - 1)};
  }
  return bytes;
}

std::string Base64UrlEncode(std::span<const uint8_t> bytes) {
  std::string text = Base64Encode(bytes);
  while (!text.empty() && text.back() == '=') text.pop_back();
  for (char& c : text) {
    if (c == '+') c = '-';
    if (c == '/') c = '_';
  }
  return text;
}

Result<std::vector<uint8_t>> Base64UrlDecode(std::string_view text) {
  if (text.size() > kMaxEncodedChars) return TooLong(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (!IsBase64UrlChar(text[i])) {
      return Error{fmt::format("invalid base64url character at offset {}", i)};
    }
  }
  // 4n+1 characters carry 6 bits past a whole byte: no byte string encodes to that.
  if (text.size() % 4 == 1) {
    return Error{fmt::format("length {} is not a base64url length", text.size())};
  }
  std::string standard(text);
  for (char& c : standard) {
    if (c == '-') c = '+';
    if (c == '_') c = '/';
  }
  const size_t padding = (4 - standard.size() % 4) % 4;
  standard.append(padding, '=');
  std::vector<uint8_t> bytes = DecodeChecked(standard, padding);
  if (Base64UrlEncode(bytes) != text) {
    return Error{fmt::format("non-canonical base64url at offset {}", text.size() - 1)};
  }
  return bytes;
}

std::string HexEncode(std::span<const uint8_t> bytes) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string text;
  text.reserve(bytes.size() * 2);
  for (uint8_t b : bytes) {
    text += kDigits[b >> 4];
    text += kDigits[b & 0x0f];
  }
  return text;
}

Result<std::vector<uint8_t>> HexDecode(std::string_view text) {
  if (text.size() > kMaxEncodedChars) return TooLong(text.size());
  if (text.size() % 2 != 0) return Error{fmt::format("odd length {}", text.size())};
  std::vector<uint8_t> bytes(text.size() / 2);
  for (size_t i = 0; i < text.size(); ++i) {
    const int value = HexValue(text[i]);
    if (value < 0) return Error{fmt::format("invalid hex digit at offset {}", i)};
    bytes[i / 2] = static_cast<uint8_t>(i % 2 == 0 ? value << 4 : bytes[i / 2] | value);
  }
  return bytes;
}

}  // namespace parley::session
