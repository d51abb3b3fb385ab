#include "parley/relay/hello_cookie.h"

#include <fmt/format.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <stdexcept>

#include "parley/rtp/big_endian.h"

namespace parley::relay {
namespace {

constexpr size_t kSha256Bytes = 32;
// participant id (4) | secret (16) | address (24) | epoch (8).
constexpr size_t kMessageBytes = 4 + kJoinSecretBytes + 24 + 8;

}  // namespace

struct HelloCookieMaker::Mac {
  Mac() = default;
  Mac(const Mac&) = delete;
  Mac& operator=(const Mac&) = delete;
  ~Mac() {
    EVP_MAC_CTX_free(context);
    EVP_MAC_free(mac);
  }
  EVP_MAC* mac = nullptr;
  EVP_MAC_CTX* context = nullptr;
};

HelloCookieKey HelloCookieMaker::RandomKey() {
  HelloCookieKey key{};
  if (RAND_bytes(key.data(), static_cast<int>(key.size())) != 1) {
    throw std::runtime_error("RAND_bytes failed: OpenSSL's random generator is not seeded");
  }
  return key;
}

HelloCookieMaker::HelloCookieMaker(const HelloCookieKey& key, Clock::Duration lifetime)
    : lifetime_(lifetime), mac_(std::make_unique<Mac>()) {
  if (lifetime.count() <= 0) {
    throw std::invalid_argument(
        fmt::format("HelloCookieMaker: lifetime {} ns must be > 0", lifetime.count()));
  }
  // Fetched and keyed once: each cookie then only re-initialises the context, which keeps
  // the key (the per-call fetch of the one-shot HMAC() is avoided).
  mac_->mac = EVP_MAC_fetch(nullptr, OSSL_MAC_NAME_HMAC, nullptr);
  if (mac_->mac != nullptr) mac_->context = EVP_MAC_CTX_new(mac_->mac);
  char digest[] = "SHA256";
  const OSSL_PARAM params[] = {
      OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
      OSSL_PARAM_construct_end(),
  };
  if (mac_->context == nullptr ||
      EVP_MAC_init(mac_->context, key.data(), key.size(), params) != 1) {
    throw std::runtime_error("HelloCookieMaker: OpenSSL has no HMAC-SHA256");
  }
}

HelloCookieMaker::~HelloCookieMaker() = default;

uint64_t HelloCookieMaker::EpochOf(Clock::TimePoint now) const {
  // A monotonic clock starts at or after 0; a negative reading would only shift epochs.
  const auto since_start = std::max(now.time_since_epoch(), Clock::Duration::zero());
  return static_cast<uint64_t>(since_start / lifetime_);
}

bool HelloCookieMaker::Compute(uint32_t participant_id, const JoinSecret& secret,
                               const AddressKey& from, uint64_t epoch, HelloCookie& out) {
  std::array<uint8_t, kMessageBytes> message{};
  uint8_t* at = message.data();
  rtp::WriteBe32(at, participant_id);
  at += 4;
  at = std::copy(secret.begin(), secret.end(), at);
  for (uint64_t word : {from.ip_high, from.ip_low, from.rest, epoch}) {
    rtp::WriteBe64(at, word);
    at += 8;
  }
  std::array<uint8_t, kSha256Bytes> mac{};
  size_t mac_bytes = 0;
  const bool made = EVP_MAC_init(mac_->context, nullptr, 0, nullptr) == 1 &&
                    EVP_MAC_update(mac_->context, message.data(), message.size()) == 1 &&
                    EVP_MAC_final(mac_->context, mac.data(), &mac_bytes, mac.size()) == 1 &&
                    mac_bytes == kSha256Bytes;
  // The message holds the join secret: it does not outlive the call.
  OPENSSL_cleanse(message.data(), message.size());
  if (made) std::copy_n(mac.begin(), kHelloCookieBytes, out.begin());
  return made;
}

bool HelloCookieMaker::Make(uint32_t participant_id, const JoinSecret& secret,
                            const AddressKey& from, Clock::TimePoint now, HelloCookie& out) {
  return Compute(participant_id, secret, from, EpochOf(now), out);
}

bool HelloCookieMaker::Check(const HelloCookie& cookie, uint32_t participant_id,
                             const JoinSecret& secret, const AddressKey& from,
                             Clock::TimePoint now) {
  const uint64_t epoch = EpochOf(now);
  HelloCookie expected{};
  if (Compute(participant_id, secret, from, epoch, expected) && SecretsEqual(cookie, expected)) {
    return true;
  }
  return epoch > 0 && Compute(participant_id, secret, from, epoch - 1, expected) &&
         SecretsEqual(cookie, expected);
}

}  // namespace parley::relay
