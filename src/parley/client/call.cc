#include "parley/client/call.h"

#include <algorithm>
#include <random>
#include <stdexcept>
#include <utility>
#include <variant>

#include "parley/net/poller.h"
#include "parley/quality/profile.h"
#include "parley/relay/hello.h"
#include "parley/rtp/rtp_packet.h"

namespace parley::client {
namespace {

using std::chrono::milliseconds;
using std::chrono::nanoseconds;

constexpr milliseconds kMixBlock{10};
// A media thread this many mix blocks late skips them instead of mixing a burst.
constexpr int64_t kMaxLateBlocks = 5;
// Receive buffer: above any media datagram on a 1500-byte MTU.
constexpr size_t kMaxDatagramBytes = 2048;
// Longest sleep of the media thread: how late it sees a command or a stop when idle.
constexpr milliseconds kMaxWait{50};

uint32_t RandomU32() {
  std::random_device device;
  return (static_cast<uint32_t>(device()) << 16) ^ static_cast<uint32_t>(device());
}

// RFC 7022: a CNAME drawn at random per call, so that calls cannot be linked by it.
std::string RandomCname() {
  constexpr char kHex[] = "0123456789abcdef";
  std::string cname = "parley-";
  for (int word = 0; word < 3; ++word) {
    uint32_t bits = RandomU32();
    for (int digit = 0; digit < 8; ++digit, bits >>= 4) cname += kHex[bits & 0xF];
  }
  return cname;
}

rtp::SrtpStats Sum(const rtp::SrtpStats& a, const rtp::SrtpStats& b) {
  return {a.rtp_packets + b.rtp_packets, a.rtcp_packets + b.rtcp_packets,
          a.auth_failures + b.auth_failures, a.replays + b.replays,
          a.other_failures + b.other_failures};
}

session::Capabilities OurCapabilities() {
  session::Capabilities capabilities;
  // RFC 7587: Opus is always announced as opus/48000/2, whatever is sent.
  capabilities.codecs.push_back({"opus", 48000, 2, 111});
  for (const quality::Profile& profile : quality::ProfileLadder()) {
    capabilities.profiles.emplace_back(profile.name);
  }
  return capabilities;
}

}  // namespace

// What the signaling thread tells the media thread.
struct Call::Command {
  struct Joined {
    uint32_t participant_id = 0;
    relay::JoinSecret secret{};
    std::string media_address;
    std::vector<session::PeerInfo> peers;
    std::optional<rtp::SrtpKeyMaterial> srtp;
    bool rejoined = false;
  };
  struct PeerJoined {
    session::PeerInfo peer;
  };
  struct PeerLeft {
    uint32_t participant_id = 0;
  };
  struct Disconnected {};
  struct Failed {
    Error error;
  };
  std::variant<Joined, PeerJoined, PeerLeft, Disconnected, Failed> what;
};

std::string_view CallStateName(CallState state) {
  switch (state) {
    case CallState::kIdle:
      return "idle";
    case CallState::kJoining:
      return "joining";
    case CallState::kConnecting:
      return "connecting";
    case CallState::kActive:
      return "active";
    case CallState::kReconnecting:
      return "reconnecting";
    case CallState::kFailed:
      return "failed";
    case CallState::kLeft:
      return "left";
  }
  return "?";
}

Result<std::unique_ptr<Call>> Call::Create(Config config) {
  return Create(std::move(config), net::UdpSocket());
}

Result<std::unique_ptr<Call>> Call::Create(Config config, net::UdpSocket bound) {
  const bool relay = !config.relay_url.empty();
  const bool p2p = !config.peer.empty();
  const bool given_socket = bound.is_open();
  if (relay == p2p) return Error{"a call needs either a relay URL or a peer address (not both)"};
  if (relay && given_socket) return Error{"a bound socket is for a P2P call only"};
  if (p2p && config.listen.empty() && !given_socket) {
    return Error{"a P2P call needs a listen address or a bound socket"};
  }
  if (p2p && (config.peer.is_unspecified() || config.peer.port() == 0)) {
    return Error{"peer address " + config.peer.ToString() + " is not a destination"};
  }
  if (relay) {
    auto url = ParseWebSocketUrl(config.relay_url);
    if (!url) return url.error();
  }
  if (config.max_peers < 1 || config.max_peers > session::kMaxRoomParticipants) {
    return Error{"max_peers " + std::to_string(config.max_peers) + " outside 1..100"};
  }
  if (config.ssrc == 0) config.ssrc = RandomU32();
  std::unique_ptr<Call> call(new Call(std::move(config)));
  if (Status status = call->Open(); !status) return status.error();
  call->socket_ = std::move(bound);  // no thread runs yet
  return call;
}

Call::Call(Config config)
    : config_(std::move(config)), clock_(SystemClock::Instance()), handshake_(config_.hello) {}

Status Call::Open() {
  RtcpSessionConfig rtcp;
  rtcp.ssrc = config_.ssrc;
  rtcp.cname = RandomCname();
  rtcp.seed = (uint64_t{RandomU32()} << 32) | RandomU32();
  if (!config_.send_path.empty()) {
    MediaSenderConfig sender;
    sender.profile = config_.profile;
    sender.ssrc = config_.ssrc;
    sender.first_sequence = static_cast<uint16_t>(RandomU32());
    sender.first_timestamp = RandomU32();
    sender.loop = config_.loop;
    auto opened = MediaSender::OpenFile(config_.send_path, sender);
    if (!opened) return opened.error();
    sender_ = std::move(opened).value();
    rtcp.clock_rate_hz = sender_->rtp_clock_rate_hz();
  }
  rtcp_ = std::make_unique<RtcpSession>(clock_, rtcp);
  if (!config_.record_path.empty()) {
    auto opened = Recorder::Open(config_.record_path, config_.recorder);
    if (!opened) return opened.error();
    recorder_ = std::move(opened).value();
  }
  MediaReceiverConfig receiver;
  receiver.own_ssrc = config_.ssrc;
  receiver.max_peers = config_.max_peers;
  receiver_ =
      std::make_unique<MediaReceiver>(clock_, receiver, static_cast<MixSink*>(this), rtcp_.get());
  return Status::Ok();
}

Call::~Call() { (void)Leave(); }

Status Call::Start() {
  if (started_) throw std::logic_error("Call::Start called twice");
  started_ = true;
  started_at_ = clock_.Now();
  if (p2p()) {
    std::lock_guard lock(media_mutex_);
    if (!socket_.is_open()) {
      auto socket = net::UdpSocket::Bind(config_.listen);
      if (!socket) return socket.error();
      socket_ = std::move(socket).value();
    }
    media_address_ = config_.peer;
    state_ = CallState::kActive;
  } else {
    state_ = CallState::kJoining;
    SignalingClientConfig signaling = config_.signaling;
    signaling.url = config_.relay_url;
    signaling_ =
        std::make_unique<SignalingClient>(signaling, static_cast<SignalingListener&>(*this));
    session::Join join;
    join.room = config_.room;
    join.token = config_.token;
    join.identity = config_.identity;
    join.ssrc = config_.ssrc;
    join.capabilities = OurCapabilities();
    auto joined = signaling_->Join(join);
    if (!joined) {
      state_ = CallState::kFailed;
      Fail(joined.error());
      return joined.error();
    }
    auto media = net::SocketAddress::Parse(joined->media.address);
    if (!media || media->is_unspecified() || media->port() == 0) {
      const Error error{"the relay's media address '" + joined->media.address +
                        "' is not a destination"};
      signaling_->Leave();
      state_ = CallState::kFailed;
      Fail(error);
      return error;
    }
    if (!config_.media_via.empty()) media = config_.media_via;
    const net::SocketAddress bind =
        config_.listen.empty() ? net::SocketAddress::WildcardFor(*media) : config_.listen;
    auto socket = net::UdpSocket::Bind(bind);
    if (!socket) {
      signaling_->Leave();
      state_ = CallState::kFailed;
      Fail(socket.error());
      return socket.error();
    }
    {
      // The media thread sets these again from the same `joined`; set here so that Stats()
      // tells them as soon as Start() returns.
      std::lock_guard lock(media_mutex_);
      socket_ = std::move(socket).value();
      media_address_ = *media;
      participant_id_ = joined->participant_id;
    }
    state_ = CallState::kConnecting;
  }
  running_ = true;
  thread_ = std::thread([this] { Loop(); });
  return Status::Ok();
}

Status Call::Leave() {
  if (left_) return status();
  left_ = true;
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  running_ = false;
  if (signaling_) signaling_->Leave();
  Status result = status();
  if (recorder_) {
    std::lock_guard lock(media_mutex_);
    Status closed = recorder_->Close();
    if (result && !closed) result = closed;
  }
  if (state_ != CallState::kFailed) state_ = CallState::kLeft;
  return result;
}

Status Call::status() const {
  std::lock_guard lock(command_mutex_);
  return status_;
}

void Call::Fail(const Error& error) {
  std::lock_guard lock(command_mutex_);
  if (status_) status_ = error;
}

bool Call::media_ready() const {
  return p2p() || (handshake_.acked() && state_ != CallState::kReconnecting);
}

void Call::Post(Command command) {
  std::lock_guard lock(command_mutex_);
  commands_.push_back(std::move(command));
}

void Call::OnJoined(const session::Joined& joined, bool rejoined) {
  Command::Joined command;
  if (joined.srtp) {
    // Signaling has checked the suite and the key's length already.
    Result<rtp::SrtpKeyMaterial> key =
        rtp::MakeSrtpKeyMaterial(joined.srtp->suite, joined.srtp->key);
    if (!key) {
      Post({Command::Failed{Error{"joined.srtp: " + key.error().message}}});
      return;
    }
    command.srtp = *key;
  }
  command.participant_id = joined.participant_id;
  std::copy(joined.media.hello_secret.begin(), joined.media.hello_secret.end(),
            command.secret.begin());
  command.media_address = joined.media.address;
  command.peers = joined.peers;
  command.rejoined = rejoined;
  Post({std::move(command)});
}

void Call::OnPeerJoined(const session::PeerInfo& peer) { Post({Command::PeerJoined{peer}}); }

void Call::OnPeerLeft(uint32_t participant_id) { Post({Command::PeerLeft{participant_id}}); }

void Call::OnDisconnected(const std::string& /*reason*/, milliseconds /*retry_in*/) {
  Post({Command::Disconnected{}});
}

void Call::OnFailed(const Error& error) { Post({Command::Failed{error}}); }

void Call::ApplyCommands(Clock::TimePoint now) {
  std::vector<Command> commands;
  {
    std::lock_guard lock(command_mutex_);
    commands.swap(commands_);
  }
  for (Command& command : commands) {
    if (auto* joined = std::get_if<Command::Joined>(&command.what)) {
      auto media = net::SocketAddress::Parse(joined->media_address);
      if (media && !config_.media_via.empty()) media = config_.media_via;
      if (!media || media->is_unspecified() || media->port() == 0 ||
          media->is_ipv6() != socket_.local_address().is_ipv6()) {
        Fail(Error{"the relay's media address '" + joined->media_address +
                   "' is not a destination of this socket's family"});
        stop_ = true;
        continue;
      }
      if (joined->srtp != srtp_key_) {
        if (Status keyed = UseSrtpKey(joined->srtp); !keyed) {
          Fail(keyed.error());
          stop_ = true;
          continue;
        }
      }
      media_address_ = *media;
      participant_id_ = joined->participant_id;
      if (joined->rejoined) ++rejoins_;
      participant_ssrcs_.clear();
      for (const session::PeerInfo& peer : joined->peers) {
        participant_ssrcs_.emplace_back(peer.participant_id, peer.ssrc);
        receiver_->SetPeerIdentity(peer.ssrc, peer.identity);
      }
      handshake_.Start(joined->participant_id, joined->secret, now);
      state_ = CallState::kConnecting;
    } else if (auto* peer_joined = std::get_if<Command::PeerJoined>(&command.what)) {
      participant_ssrcs_.emplace_back(peer_joined->peer.participant_id, peer_joined->peer.ssrc);
      receiver_->SetPeerIdentity(peer_joined->peer.ssrc, peer_joined->peer.identity);
    } else if (auto* peer_left = std::get_if<Command::PeerLeft>(&command.what)) {
      for (auto it = participant_ssrcs_.begin(); it != participant_ssrcs_.end(); ++it) {
        if (it->first == peer_left->participant_id) {
          receiver_->RemovePeer(it->second);
          rtcp_->RemoveSource(it->second);
          participant_ssrcs_.erase(it);
          break;
        }
      }
    } else if (std::holds_alternative<Command::Disconnected>(command.what)) {
      state_ = CallState::kReconnecting;
    } else if (auto* failed = std::get_if<Command::Failed>(&command.what)) {
      Fail(failed->error);
      stop_ = true;
    }
  }
}

Status Call::UseSrtpKey(const std::optional<rtp::SrtpKeyMaterial>& key) {
  receiver_->SetSrtp(nullptr);
  if (srtp_out_) srtp_sent_before_ = Sum(srtp_sent_before_, srtp_out_->stats());
  if (srtp_in_) srtp_received_before_ = Sum(srtp_received_before_, srtp_in_->stats());
  srtp_out_.reset();
  srtp_in_.reset();
  srtp_key_ = key;
  if (!key) return Status::Ok();
  Result<rtp::SrtpOutboundSession> out = rtp::SrtpOutboundSession::Create(*key);
  if (!out) return Error{"SRTP: " + out.error().message};
  Result<rtp::SrtpInboundSession> in = rtp::SrtpInboundSession::Create(*key);
  if (!in) return Error{"SRTP: " + in.error().message};
  srtp_out_.emplace(std::move(out).value());
  srtp_in_.emplace(std::move(in).value());
  receiver_->SetSrtp(&*srtp_in_);
  return Status::Ok();
}

void Call::SendRtcp(std::span<const uint8_t> report) {
  std::span<const uint8_t> wire = report;
  if (srtp_out_) {
    // RtcpSession's reports fit kMaxRtcpReportBytes; the rest of the buffer is the tail
    // room libsrtp needs.
    if (report.size() > kMaxRtcpReportBytes) return;
    std::copy(report.begin(), report.end(), srtcp_buffer_.begin());
    // Refused: counted in the session's stats; never sent in the clear.
    const std::optional<size_t> bytes = srtp_out_->TryProtectRtcp(srtcp_buffer_, report.size());
    if (!bytes) return;
    wire = std::span<const uint8_t>(srtcp_buffer_).first(*bytes);
  }
  if (!socket_.SendTo(wire, media_address_)) ++socket_errors_;
}

void Call::ReceiveAll(std::span<uint8_t> buffer) {
  for (;;) {
    auto received = socket_.ReceiveFrom(buffer);
    if (!received) {
      ++socket_errors_;
      return;
    }
    if (!*received) return;
    const net::Datagram& datagram = **received;
    if (datagram.truncated) continue;
    const auto bytes = buffer.first(datagram.size);
    if (!p2p()) {
      // Relay mode: only the relay's media address speaks to this socket.
      if (!(datagram.from == media_address_)) continue;
      if (!bytes.empty() && bytes[0] == relay::kHelloMarker) {
        const bool acked = handshake_.OnDatagram(bytes);
        if (acked && state_ == CallState::kConnecting) state_ = CallState::kActive;
        continue;
      }
    }
    receiver_->OnDatagram(bytes);
  }
}

void Call::OnMix(std::span<const int16_t> block) {
  mix_level_dbov_ = rtp::AudioLevelDbov(block);
  if (recorder_) recorder_->OnMix(block);
  if (config_.output != nullptr) config_.output->OnMix(block);
}

void Call::Loop() {
  net::Poller poller;
  poller.Add(socket_.fd());
  std::vector<uint8_t> buffer(kMaxDatagramBytes);
  std::vector<int16_t> block(static_cast<size_t>(receiver_->block_frames()));
  Clock::TimePoint next_mix = clock_.Now();
  while (!stop_) {
    Clock::TimePoint deadline;
    {
      std::lock_guard lock(media_mutex_);
      Clock::TimePoint now = clock_.Now();
      ApplyCommands(now);
      if (stop_) break;
      ReceiveAll(buffer);

      if (!p2p() && handshake_.state() == HelloHandshake::State::kWaiting) {
        if (auto hello = handshake_.HelloDue(now)) {
          if (!socket_.SendTo(*hello, media_address_)) ++socket_errors_;
        }
        if (handshake_.state() == HelloHandshake::State::kFailed) {
          Fail(handshake_.status().error());
          break;
        }
      }
      if (sender_) {
        if (media_ready()) {
          if (!sender_->started()) sender_->Start(now);
          auto sent = sender_->SendDue(now, socket_, media_address_, rtcp_.get(),
                                       srtp_out_ ? &*srtp_out_ : nullptr);
          if (!sent) {
            Fail(sent.error());
            break;
          }
        } else if (sender_->started()) {
          sender_->SkipDue(now);
        }
        sending_finished_ = sender_->finished();
      }
      if (media_ready()) {
        if (!rtcp_->started()) rtcp_->Start(now);
        // Read the clock again: the SR's timestamps say when it leaves, not when the
        // loop woke.
        const auto report = rtcp_->ReportDue(clock_.Now());
        if (!report.empty()) SendRtcp(report);
      }

      const int64_t late_blocks = (now - next_mix) / kMixBlock;
      if (late_blocks >= kMaxLateBlocks) {
        next_mix += late_blocks * kMixBlock;
        mix_blocks_skipped_ += static_cast<uint64_t>(late_blocks);
      }
      while (next_mix <= now) {
        receiver_->Pull10ms(block);
        next_mix += kMixBlock;
      }

      deadline = std::min(next_mix, now + kMaxWait);
      if (sender_ && media_ready()) {
        if (auto due = sender_->next_due()) deadline = std::min(deadline, *due);
      }
      if (auto report = rtcp_->next_report_time(); report && media_ready()) {
        deadline = std::min(deadline, *report);
      }
      if (auto hello = handshake_.next_deadline(); hello && !p2p()) {
        deadline = std::min(deadline, *hello);
      }
    }
    const nanoseconds wait = deadline - clock_.Now();
    if (wait.count() > 0) {
      auto waited = poller.Wait(wait);
      if (!waited) {
        Fail(Error{"waiting for media: " + waited.error().message});
        break;
      }
    }
  }
  if (!status()) state_ = CallState::kFailed;
  running_ = false;
}

CallStats Call::Stats() const {
  CallStats stats;
  stats.state = state_.load();
  stats.ssrc = config_.ssrc;
  if (started_at_ != Clock::TimePoint{}) stats.elapsed = clock_.Now() - started_at_;
  std::lock_guard lock(media_mutex_);
  stats.participant_id = participant_id_;
  stats.local_address = socket_.local_address();
  stats.media_address = media_address_;
  stats.hellos_sent = handshake_.hellos_sent();
  stats.rejoins = rejoins_;
  if (sender_) {
    stats.sending = true;
    stats.sending_finished = sender_->finished();
    stats.sender = sender_->stats();
  }
  stats.receiver = receiver_->counters();
  stats.peers = receiver_->peer_stats();
  if (recorder_) stats.recorded_frames = recorder_->frames_written();
  stats.mix_blocks_skipped = mix_blocks_skipped_;
  stats.socket_errors = socket_errors_;
  stats.mix_level_dbov = mix_level_dbov_;
  stats.rtcp = rtcp_->stats();
  stats.srtp = srtp_key_.has_value();
  stats.srtp_sent = srtp_out_ ? Sum(srtp_sent_before_, srtp_out_->stats()) : srtp_sent_before_;
  stats.srtp_received =
      srtp_in_ ? Sum(srtp_received_before_, srtp_in_->stats()) : srtp_received_before_;
  return stats;
}

}  // namespace parley::client
