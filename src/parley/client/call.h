// A call, as an application embeds it and `parley call` runs it: join a room of a relay
// (or talk to one peer directly), send a file, hear and mix everyone else, record the
// mix, report statistics, leave.
//
// Relay mode (relay_url set):
//
//   Start ─ SignalingClient::Join ─ joined {participant id, media address, hello secret,
//                                           the room's SRTP key when the relay has SRTP on}
//         ─ bind a UDP socket ─ media thread:
//             hello every 200 ms until acked (HelloHandshake; none within 5 s: the call fails)
//             then the file's packets, paced by the clock (MediaSender), and RTCP
//             reports about every second (RtcpSession)
//             every datagram from the relay ─> hello-ack, or MediaReceiver (one playout
//             engine per peer SSRC; RTCP and RTP statistics to the RtcpSession) ─ every
//             10 ms: mix ─> Recorder, output sink
//   peer_joined / peer_left: names the streams in the statistics / drops a peer's stream
//   relay restarts: the signaling client reconnects with back-off and joins again; the
//   media thread then says hello with the new secret (media paused, not queued, meanwhile:
//   the file's clock keeps running as a live source's would)
//
// SRTP (relay mode, when `joined` carries the room's key): the media thread holds one
// outbound session (every RTP packet MediaSender sends, every RTCP compound RtcpSession
// writes: SRTP / SRTCP) and one inbound session (every RTP and RTCP datagram from the
// relay is unprotected before MediaReceiver reads it; one that fails authentication or
// the replay check is dropped and counted: CallStats::receiver.undecryptable, and by
// reason in srtp_received). Hellos stay in the clear (the relay reads them). A rejoin
// with the same key keeps both sessions, so sequence numbers and SRTCP indexes go on
// rather than restarting under the same key (which would reuse keystream); a rejoin with
// another key (the relay restarted) replaces them, and one without a key drops them.
// Both are made on the media thread when the `joined` is applied; per packet nothing is
// allocated but libsrtp's stream for an SSRC seen for the first time. P2P has no keys.
//   Leave ─ stop the media thread ─ `leave` ─ close the recording
//
// P2P mode (peer set): no relay, no signaling, no hello. Both ends bind `listen` and send
// their RTP straight to each other's address; each plays whatever RTP reaches its socket
// (one engine per SSRC, its own SSRC excluded). The hello exists to prove to a relay that
// an address belongs to a joined participant; between two peers who exchanged addresses
// out of band there is nobody to prove it to. Nothing is authenticated: any host that
// learns the port can add a stream (there is no key exchange between peers, so no SRTP).
// RTCP is the same as with a relay, exchanged with the peer from the start.
//
// RTCP (rtcp_session.h): relay mode starts it once the hello is acked (the relay drops
// anything else before) and pauses it while reconnecting; the reports go where the media
// goes. CallStats::rtcp holds the link's figures: uplink loss and jitter as the far end
// reports them, downlink per peer SSRC, round-trip time.
//
// Timing: a real clock (SystemClock) and ppoll: the media thread wakes for the next
// packet due, the next 10 ms mix, the next hello, the next RTCP report or a datagram,
// whichever comes first. A thread stalled more than 5 mix blocks skips the missed blocks
// (counted) rather than mixing a burst.
//
// Threading: Create/Start/Leave and the destructor on one controlling thread; Stats(),
// status(), running(), sending_finished() from any thread. The output sink is called on
// the media thread.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "parley/base/clock.h"
#include "parley/base/result.h"
#include "parley/client/hello_handshake.h"
#include "parley/client/media_receiver.h"
#include "parley/client/media_sender.h"
#include "parley/client/recorder.h"
#include "parley/client/rtcp_session.h"
#include "parley/client/signaling_client.h"
#include "parley/net/udp_socket.h"
#include "parley/rtp/srtp_session.h"

namespace parley::client {

struct CallConfig {
  // --- relay mode ---
  std::string relay_url;            // ws://host:port/path or wss://...
  std::string room;                 // a name (docs/protocol.md)
  std::string token;                // the join token (`parley token`)
  std::string identity;             // "" or the token's identity
  SignalingClientConfig signaling;  // timeouts, back-off, TLS; its url is relay_url
  HelloHandshakeConfig hello;
  // Send media (hellos included) here instead of to the address in `joined`: a UDP proxy
  // on the way to the relay (the impairment proxy of `parley impair`, a forwarder).
  // Datagrams are then accepted from this address only. Empty: the relay's address.
  net::SocketAddress media_via;
  // --- P2P mode ---
  net::SocketAddress peer;  // where to send; set (not empty) selects P2P mode
  // P2P: where to receive (required). Relay: the local address to bind; empty: any
  // address of the relay's family, a port the system picks.
  net::SocketAddress listen;
  // --- both ---
  std::string send_path;         // WAV (any rate) or Ogg Opus to send; "": listen only
  bool loop = false;             // send the file again and again
  std::string profile = "good";  // quality/profile.h rung for a WAV file
  std::string record_path;       // .wav or .opus/.ogg: record the mix; "": none
  uint32_t ssrc = 0;             // 0: drawn at random
  size_t max_peers = 16;         // streams mixed at once; 1..100
  MixSink* output = nullptr;     // also gets every 10 ms of the mix (e.g. a sound device)
  RecorderConfig recorder;
};

enum class CallState {
  kIdle,          // created, not started
  kJoining,       // signaling: connecting and joining
  kConnecting,    // joined; media: saying hello
  kActive,        // media flowing (relay: hello acked; P2P: from the start)
  kReconnecting,  // signaling lost; retrying with back-off
  kFailed,        // ended by an error (status())
  kLeft,          // Leave() done
};
std::string_view CallStateName(CallState state);

struct CallStats {
  CallState state = CallState::kIdle;
  std::chrono::nanoseconds elapsed{0};  // since Start()
  uint32_t ssrc = 0;
  uint32_t participant_id = 0;  // relay mode, from the latest `joined`
  net::SocketAddress local_address;
  net::SocketAddress media_address;  // where media goes: the relay's, or the peer's
  int hellos_sent = 0;               // for the latest join
  uint64_t rejoins = 0;
  bool sending = false;           // a file is being sent
  bool sending_finished = false;  // a file sent once has ended
  MediaSenderStats sender;
  ReceiverCounters receiver;
  std::vector<PeerStats> peers;
  int64_t recorded_frames = 0;
  uint64_t mix_blocks_skipped = 0;  // 10 ms mixes the stalled thread skipped
  uint64_t socket_errors = 0;       // receive errors; hellos, RTCP the socket refused
  int mix_level_dbov = 127;         // RFC 6464 level of the last 10 ms mixed (127: silence)
  RtcpSessionStats rtcp;            // the link: uplink, downlink per peer SSRC, RTT
  bool srtp = false;                // the latest `joined` carried a key: media is SRTP
  // Over the call (every key): packets protected and refused (srtp_sent), unprotected and
  // rejected by reason: authentication, replay, other (srtp_received).
  rtp::SrtpStats srtp_sent;
  rtp::SrtpStats srtp_received;
};

class Call final : private SignalingListener, private MixSink {
 public:
  using Config = CallConfig;

  // Checks the config and opens the file to send and the recording. Error: neither or
  // both modes, a file that cannot be read, a recording that cannot be created, a bad
  // profile.
  [[nodiscard]] static Result<std::unique_ptr<Call>> Create(Config config);
  // P2P on a socket the caller has bound already (config.listen is then not used): bound
  // to port 0, it tells its port before either end starts, so two peers can be given each
  // other's address without guessing at free ports. A closed socket: as Create(config).
  // Error: as above, or an open socket with a relay config.
  [[nodiscard]] static Result<std::unique_ptr<Call>> Create(Config config, net::UdpSocket bound);
  ~Call() override;  // Leave()s
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;

  // Relay: joins (blocking up to the signaling timeouts) and starts the media thread. P2P:
  // binds `listen` (unless Create was given a bound socket) and starts the media thread. Error:
  // refused, unreachable, the socket cannot be bound. Throws std::logic_error when called twice.
  [[nodiscard]] Status Start();

  // Stops the media thread, leaves the room, finishes the recording. Returns the error
  // that ended the call (status()), or the recording's; Ok otherwise. Idempotent.
  [[nodiscard]] Status Leave();

  // Any thread.
  CallStats Stats() const;
  // Ok while the call runs or after it ended well; the reason once it failed.
  [[nodiscard]] Status status() const;
  // The media thread runs (false before Start, after Leave, after a failure).
  bool running() const { return running_.load(); }
  bool sending_finished() const { return sending_finished_.load(); }
  CallState state() const { return state_.load(); }
  bool p2p() const { return !config_.peer.empty(); }

 private:
  struct Command;
  explicit Call(Config config);
  Status Open();
  void Loop();
  void ApplyCommands(Clock::TimePoint now);
  void ReceiveAll(std::span<uint8_t> buffer);
  Status UseSrtpKey(const std::optional<rtp::SrtpKeyMaterial>& key);
  void SendRtcp(std::span<const uint8_t> report);
  void Fail(const Error& error);
  bool media_ready() const;
  void Post(Command command);

  // SignalingListener (signaling thread).
  void OnJoined(const session::Joined& joined, bool rejoined) override;
  void OnPeerJoined(const session::PeerInfo& peer) override;
  void OnPeerLeft(uint32_t participant_id) override;
  void OnDisconnected(const std::string& reason, std::chrono::milliseconds retry_in) override;
  void OnFailed(const Error& error) override;
  // MixSink (media thread).
  void OnMix(std::span<const int16_t> block) override;

  // Passed by argument.
  Config config_;
  const Clock& clock_;
  // Allocated by this.
  std::unique_ptr<RtcpSession> rtcp_;  // before the sender and receiver that feed it
  std::unique_ptr<MediaSender> sender_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<MediaReceiver> receiver_;
  std::unique_ptr<SignalingClient> signaling_;
  HelloHandshake handshake_;
  net::UdpSocket socket_;
  std::thread thread_;
  // Guards the media state below and what Stats() reads of it.
  mutable std::mutex media_mutex_;
  net::SocketAddress media_address_;
  uint32_t participant_id_ = 0;
  std::vector<std::pair<uint32_t, uint32_t>> participant_ssrcs_;  // id -> SSRC
  uint64_t rejoins_ = 0;
  uint64_t mix_blocks_skipped_ = 0;
  uint64_t socket_errors_ = 0;
  int mix_level_dbov_ = 127;
  // SRTP: the key of the latest `joined` and its sessions (media thread), the statistics
  // of sessions replaced, and where an RTCP report is protected.
  std::optional<rtp::SrtpKeyMaterial> srtp_key_;
  std::optional<rtp::SrtpOutboundSession> srtp_out_;
  std::optional<rtp::SrtpInboundSession> srtp_in_;
  rtp::SrtpStats srtp_sent_before_;
  rtp::SrtpStats srtp_received_before_;
  std::array<uint8_t, kMaxRtcpReportBytes + rtp::kSrtpMaxRtcpOverheadBytes> srtcp_buffer_{};
  // Guards commands_ and status_.
  mutable std::mutex command_mutex_;
  std::vector<Command> commands_;
  Status status_;
  // Others.
  Clock::TimePoint started_at_{};
  std::atomic<CallState> state_{CallState::kIdle};
  std::atomic<bool> stop_{false};
  std::atomic<bool> running_{false};
  std::atomic<bool> sending_finished_{false};
  bool started_ = false;
  bool left_ = false;
};

}  // namespace parley::client
