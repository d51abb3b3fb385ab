// The client's side of the media hello (relay/hello.h, docs/protocol.md "Hello and
// hello-ack"): before sending media, a participant sends a hello carrying its join secret
// from the socket it will send media from. The relay answers a first hello with a
// challenge carrying a cookie for that address; the client echoes it in a
// hello-with-cookie, which the relay acks once the cookie checks out. Hellos are resent
// until the ack arrives; with no ack within the give-up time the media path is declared
// dead.
//
//   Start(t0) ──> hello due at t0, t0 + 200 ms, t0 + 400 ms, ...       (kWaiting)
//   OnDatagram(challenge for our id) ──> a hello-with-cookie due at once (HelloDue), and
//                                        every resend after it carries the latest cookie
//   OnDatagram(ack with our id and secret) ─────────────────────────>   kAcked
//   no ack by t0 + 5 s ─────────────────────────────────────────────>   kFailed (status())
//
// A stale ack (another participant id or secret: the answer to an earlier join, after a
// rejoin) and a challenge for another participant id are ignored. The client cannot check
// a cookie (only the relay holds its key); it only echoes it, from the same socket. No
// socket here: the caller sends what HelloDue() returns and hands every datagram that
// starts with the hello marker to OnDatagram(), so every rule runs on a simulated clock.
//
// Threading: one thread at a time. Not copyable.
#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <span>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/relay/hello.h"

namespace parley::client {

struct HelloHandshakeConfig {
  // Time between hellos until the ack arrives: a lost hello costs this much delay.
  // 200 ms: about one round trip on a bad mobile link, and 5 datagrams per second is
  // nothing next to 50 media packets per second. > 0.
  std::chrono::milliseconds resend_interval{200};
  // No ack this long after Start(): the relay is unreachable or refuses the secret.
  // 5 s: 25 hellos, far beyond any loss burst a call survives. >= resend_interval.
  std::chrono::milliseconds give_up_after{5000};
};

class HelloHandshake {
 public:
  using Config = HelloHandshakeConfig;
  enum class State { kIdle, kWaiting, kAcked, kFailed };

  // Throws std::invalid_argument for a Config outside its documented ranges.
  explicit HelloHandshake(const Config& config = {});
  HelloHandshake(const HelloHandshake&) = delete;
  HelloHandshake& operator=(const HelloHandshake&) = delete;

  // Begins (or begins again, after a rejoin) with the participant id and secret of the
  // latest `joined`; the first hello is due at `now`. Forgets any earlier ack.
  void Start(uint32_t participant_id, const relay::JoinSecret& secret, Clock::TimePoint now);

  // The hello to send at `now`, when one is due (the state is kWaiting, and a challenge
  // has arrived since the last hello or the resend interval has passed); marks it sent.
  // It is the 24-byte hello until a challenge has come, then the 40-byte
  // hello-with-cookie with the latest cookie. A reply to a challenge does not move the
  // resend grid. Moves to kFailed, and returns nullopt, once give_up_after has passed
  // without an ack. The bytes are valid until the next OnDatagram() or Start().
  std::optional<std::span<const uint8_t>> HelloDue(Clock::TimePoint now);

  // A datagram from the relay's media address. True when it is the ack of the current
  // hello (state becomes kAcked); false for anything else, stale acks included. A
  // challenge for our participant id while kWaiting keeps its cookie and makes a
  // hello-with-cookie due at once.
  bool OnDatagram(std::span<const uint8_t> datagram);

  State state() const { return state_; }
  bool acked() const { return state_ == State::kAcked; }
  // When HelloDue() next has something to do (a resend or the give-up); nullopt unless
  // kWaiting. While a challenge waits for its reply, a time already passed (due now).
  std::optional<Clock::TimePoint> next_deadline() const;
  // Hellos sent since the last Start(), with or without a cookie.
  int hellos_sent() const { return hellos_sent_; }
  // Challenges taken since the last Start().
  int challenges_received() const { return challenges_received_; }
  // Ok unless kFailed; then an Error naming the relay's silence and the hellos sent.
  [[nodiscard]] Status status() const;

 private:
  // Passed by argument.
  const Config config_;
  // Others.
  std::array<uint8_t, relay::kHelloBytes> hello_{};
  std::array<uint8_t, relay::kHelloWithCookieBytes> hello_with_cookie_{};  // latest cookie
  relay::Hello expected_ack_;
  State state_ = State::kIdle;
  bool have_cookie_ = false;  // a challenge has come: hellos carry its cookie
  bool reply_due_ = false;    // a challenge waits for its hello-with-cookie
  Clock::TimePoint started_{};
  Clock::TimePoint next_send_{};
  int hellos_sent_ = 0;
  int challenges_received_ = 0;
};

}  // namespace parley::client
