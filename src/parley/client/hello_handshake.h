// The client's side of the media hello (relay/hello.h, docs/protocol.md "Hello and
// hello-ack"): before sending media, a participant sends a hello carrying its join secret
// from the socket it will send media from, and resends it until the relay's hello-ack
// arrives; with no ack within the give-up time the media path is declared dead.
//
//   Start(t0) ──> hello due at t0, t0 + 200 ms, t0 + 400 ms, ...   (kWaiting)
//   OnDatagram(ack with our id and secret) ─────────────────────>   kAcked
//   no ack by t0 + 5 s ─────────────────────────────────────────>   kFailed (status() says why)
//
// A stale ack (another participant id or secret: the answer to an earlier join, after a
// rejoin) is ignored. No socket here: the caller sends what HelloDue() returns and hands
// every datagram that starts with the hello marker to OnDatagram(), so every rule runs on
// a simulated clock.
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

  // The hello to send at `now`, when one is due (the state is kWaiting and the resend
  // interval has passed since the last one); marks it sent. Moves to kFailed, and
  // returns nullopt, once give_up_after has passed without an ack. The bytes are valid
  // until the next Start().
  std::optional<std::span<const uint8_t>> HelloDue(Clock::TimePoint now);

  // A datagram from the relay's media address. True when it is the ack of the current
  // hello (state becomes kAcked); false for anything else, stale acks included.
  bool OnDatagram(std::span<const uint8_t> datagram);

  State state() const { return state_; }
  bool acked() const { return state_ == State::kAcked; }
  // When HelloDue() next has something to do (a resend or the give-up); nullopt unless
  // kWaiting.
  std::optional<Clock::TimePoint> next_deadline() const;
  // Hellos sent since the last Start().
  int hellos_sent() const { return hellos_sent_; }
  // Ok unless kFailed; then an Error naming the relay's silence and the hellos sent.
  [[nodiscard]] Status status() const;

 private:
  // Passed by argument.
  const Config config_;
  // Others.
  std::array<uint8_t, relay::kHelloBytes> hello_{};
  relay::Hello expected_ack_;
  State state_ = State::kIdle;
  Clock::TimePoint started_{};
  Clock::TimePoint next_send_{};
  int hellos_sent_ = 0;
};

}  // namespace parley::client
