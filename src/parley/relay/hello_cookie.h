// The relay's return-path cookie for the media hello (hello.h): proof that the sender of
// a hello receives what the relay sends to its source address, checked before that
// address is latched. The same idea as a STUN/QUIC address-validation token, kept
// stateless: the relay stores nothing per challenge, it recomputes the cookie when the
// client echoes it.
//
//   cookie = the first 16 bytes of
//            HMAC-SHA256(key, participant id (4 bytes, big-endian)
//                             | join secret (16 bytes)
//                             | source address (24 bytes: AddressKey's ip_high, ip_low
//                               and rest words, big-endian, so family, IP, port and
//                               IPv6 scope; flat_index_map.h)
//                             | epoch (8 bytes, big-endian))
//   epoch  = floor(monotonic now / lifetime)
//
// A cookie is accepted in the epoch it was made in and the next one: at least `lifetime`
// and at most 2 x `lifetime` after it was made. Older ones are refused, so a cookie seen
// by an observer is worth nothing after that; a rejoin (new secret) or a new address
// voids it at once. 16 bytes (128 bits) of HMAC leave a forger one chance in 2^128 per
// guess.
//
// The key is 32 random bytes (RandomKey: OpenSSL's RAND_bytes) per relay process and never
// leaves it, so only this relay can make or check its cookies; a restart voids every
// outstanding cookie (the client's next hello draws a fresh challenge).
//
// Cost: one HMAC-SHA256 over 52 bytes per Make, at most two per Check. OpenSSL 3's MAC API
// allocates on every computation, even on a prepared context (measured with OpenSSL 3.0:
// two allocations per EVP_MAC_init, through OpenSSL's allocator, not operator new), so a
// cookie is not allocation-free. The relay computes one only for a hello that has already
// shown a known participant id and its secret from an address not latched to it: once per
// join and per address change, never per media packet.
//
// Threading: one thread at a time (the relay's media thread). Not copyable.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>

#include "parley/base/clock.h"
#include "parley/relay/flat_index_map.h"
#include "parley/relay/hello.h"

namespace parley::relay {

inline constexpr size_t kHelloCookieKeyBytes = 32;
using HelloCookieKey = std::array<uint8_t, kHelloCookieKeyBytes>;

class HelloCookieMaker {
 public:
  // A fresh key from OpenSSL's CSPRNG. Throws std::runtime_error when it fails (an
  // unseeded generator: nothing sensible to fall back to).
  static HelloCookieKey RandomKey();

  // `lifetime` > 0, else std::invalid_argument. Throws std::runtime_error when OpenSSL
  // cannot provide HMAC-SHA256.
  HelloCookieMaker(const HelloCookieKey& key, Clock::Duration lifetime);
  ~HelloCookieMaker();
  HelloCookieMaker(const HelloCookieMaker&) = delete;
  HelloCookieMaker& operator=(const HelloCookieMaker&) = delete;

  // The cookie for a challenge to `from`, made at `now`. False only when OpenSSL fails
  // (not expected once constructed); `out` is then unspecified.
  [[nodiscard]] bool Make(uint32_t participant_id, const JoinSecret& secret, const AddressKey& from,
                          Clock::TimePoint now, HelloCookie& out);

  // True when `cookie` is the one Make gave for these participant id, secret and address
  // in the epoch of `now` or the one before. Compared in constant time.
  [[nodiscard]] bool Check(const HelloCookie& cookie, uint32_t participant_id,
                           const JoinSecret& secret, const AddressKey& from, Clock::TimePoint now);

  Clock::Duration lifetime() const { return lifetime_; }

 private:
  bool Compute(uint32_t participant_id, const JoinSecret& secret, const AddressKey& from,
               uint64_t epoch, HelloCookie& out);
  uint64_t EpochOf(Clock::TimePoint now) const;

  // Passed by argument.
  const Clock::Duration lifetime_;
  // Allocated by this: the HMAC-SHA256 context, keyed once.
  struct Mac;
  std::unique_ptr<Mac> mac_;
};

}  // namespace parley::relay
