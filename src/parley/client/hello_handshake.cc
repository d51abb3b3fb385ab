#include "parley/client/hello_handshake.h"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace parley::client {

HelloHandshake::HelloHandshake(const Config& config) : config_(config) {
  if (config.resend_interval.count() <= 0) {
    throw std::invalid_argument("HelloHandshakeConfig.resend_interval must be > 0");
  }
  if (config.give_up_after < config.resend_interval) {
    throw std::invalid_argument("HelloHandshakeConfig.give_up_after must be >= resend_interval");
  }
}

void HelloHandshake::Start(uint32_t participant_id, const relay::JoinSecret& secret,
                           Clock::TimePoint now) {
  const relay::Hello hello{relay::HelloType::kHello, participant_id, secret, {}};
  hello_ = relay::SerializeHello(hello);
  // The cookie's 16 bytes are written when a challenge comes.
  hello_with_cookie_ = relay::SerializeHelloWithCookie(hello);
  expected_ack_ = hello;
  expected_ack_.type = relay::HelloType::kAck;
  state_ = State::kWaiting;
  have_cookie_ = false;
  reply_due_ = false;
  started_ = now;
  next_send_ = now;
  hellos_sent_ = 0;
  challenges_received_ = 0;
}

std::optional<std::span<const uint8_t>> HelloHandshake::HelloDue(Clock::TimePoint now) {
  if (state_ != State::kWaiting) return std::nullopt;
  if (now - started_ >= config_.give_up_after) {
    state_ = State::kFailed;
    return std::nullopt;
  }
  if (reply_due_) {
    // The answer to a challenge goes at once, off the grid: the relay is waiting for it.
    reply_due_ = false;
  } else {
    if (now < next_send_) return std::nullopt;
    // The grid is kept from the first hello, so a late caller does not stretch the interval.
    while (next_send_ <= now) next_send_ += config_.resend_interval;
  }
  ++hellos_sent_;
  if (have_cookie_) return std::span<const uint8_t>(hello_with_cookie_);
  return std::span<const uint8_t>(hello_);
}

bool HelloHandshake::OnDatagram(std::span<const uint8_t> datagram) {
  relay::Hello hello;
  if (relay::DecodeHello(datagram, hello) != relay::HelloFault::kNone) return false;
  if (hello.participant_id != expected_ack_.participant_id) return false;
  if (hello.type == relay::HelloType::kChallenge) {
    if (state_ != State::kWaiting) return false;
    // The newest cookie wins: an older one may have expired, or been made for an address
    // this socket no longer has (NAT rebinding during the handshake).
    std::copy(hello.cookie.begin(), hello.cookie.end(),
              hello_with_cookie_.begin() + relay::kHelloWithCookieCookieOffset);
    have_cookie_ = true;
    reply_due_ = true;
    ++challenges_received_;
    return false;
  }
  if (hello.type != relay::HelloType::kAck ||
      !relay::SecretsEqual(hello.secret, expected_ack_.secret)) {
    return false;
  }
  if (state_ == State::kWaiting) state_ = State::kAcked;
  return state_ == State::kAcked;
}

std::optional<Clock::TimePoint> HelloHandshake::next_deadline() const {
  if (state_ != State::kWaiting) return std::nullopt;
  if (reply_due_) return started_;
  return std::min(next_send_, started_ + config_.give_up_after);
}

Status HelloHandshake::status() const {
  if (state_ != State::kFailed) return Status::Ok();
  return Error{"no hello-ack from the relay's media address within " +
               std::to_string(config_.give_up_after.count()) + " ms (" +
               std::to_string(hellos_sent_) +
               " hellos sent): UDP blocked, wrong media address, or the join is no longer valid"};
}

}  // namespace parley::client
