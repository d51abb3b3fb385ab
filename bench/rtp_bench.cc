// RTP and RTCP wire formats per packet: parsing and writing a typical 20 ms Opus packet
// with a one-byte audio level extension, and building and parsing an RTCP compound
// (SR + SDES + XR VoIP Metrics).
//
//   ./build/release/bench/parley_bench --benchmark_filter=Rtp
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <vector>

#include "parley/rtp/rtcp_packet.h"
#include "parley/rtp/rtp_packet.h"

namespace {

using namespace parley::rtp;

// 20 ms of Opus at 32 kbit/s: 80 bytes of payload.
constexpr size_t kOpusPayloadBytes = 80;

void BM_RtpWriteOpusWithAudioLevel(benchmark::State& state) {
  std::array<uint8_t, kOpusPayloadBytes> payload{};
  std::array<uint8_t, 256> buffer{};
  uint16_t seq = 0;
  uint32_t ts = 0;
  for (auto _ : state) {
    const std::array<uint8_t, 1> level = {EncodeAudioLevel({true, 30})};
    const std::array<HeaderExtension, 1> extensions = {HeaderExtension{1, level}};
    RtpPacketFields fields;
    fields.payload_type = 111;
    fields.sequence_number = seq++;
    fields.timestamp = ts += 960;
    fields.ssrc = 0x12345678;
    fields.extensions = extensions;
    parley::Result<size_t> n = WriteRtpPacket(fields, payload, buffer);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpWriteOpusWithAudioLevel);

void BM_RtpParseOpusWithAudioLevel(benchmark::State& state) {
  std::array<uint8_t, kOpusPayloadBytes> payload{};
  std::array<uint8_t, 256> buffer{};
  const std::array<uint8_t, 1> level = {EncodeAudioLevel({true, 30})};
  const std::array<HeaderExtension, 1> extensions = {HeaderExtension{1, level}};
  RtpPacketFields fields;
  fields.payload_type = 111;
  fields.extensions = extensions;
  parley::Result<size_t> n = WriteRtpPacket(fields, payload, buffer);
  if (!n) std::abort();
  const std::span<const uint8_t> packet(buffer.data(), *n);
  for (auto _ : state) {
    parley::Result<RtpPacketView> view = ParseRtpPacket(packet);
    // What a receiver reads: header fields, the level, the payload.
    int level_dbov = 0;
    if (auto data = view->FindExtension(1)) level_dbov = (*data)[0] & 0x7F;
    benchmark::DoNotOptimize(view->sequence_number() + view->timestamp() + level_dbov +
                             view->payload().size());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpParseOpusWithAudioLevel);

void BM_RtpParseAndWriteRoundTrip(benchmark::State& state) {
  std::array<uint8_t, kOpusPayloadBytes> payload{};
  std::array<uint8_t, 256> in{};
  std::array<uint8_t, 256> out{};
  const std::array<uint8_t, 1> level = {EncodeAudioLevel({true, 30})};
  const std::array<HeaderExtension, 1> extensions = {HeaderExtension{1, level}};
  RtpPacketFields fields;
  fields.payload_type = 111;
  fields.extensions = extensions;
  parley::Result<size_t> n = WriteRtpPacket(fields, payload, in);
  if (!n) std::abort();
  const std::span<const uint8_t> packet(in.data(), *n);
  for (auto _ : state) {
    // A relay's work: parse, rewrite the sequence number, write out.
    parley::Result<RtpPacketView> view = ParseRtpPacket(packet);
    std::array<HeaderExtension, 1> relayed = {HeaderExtension{1, *view->FindExtension(1)}};
    RtpPacketFields f;
    f.payload_type = view->payload_type();
    f.sequence_number = static_cast<uint16_t>(view->sequence_number() + 1);
    f.timestamp = view->timestamp();
    f.ssrc = view->ssrc();
    f.extensions = relayed;
    parley::Result<size_t> written = WriteRtpPacket(f, view->payload(), out);
    benchmark::DoNotOptimize(written);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpParseAndWriteRoundTrip);

RtcpCompound MakeCompound() {
  SenderReport sr;
  sr.ssrc = 0x12345678;
  sr.sender_info = {0xE8A1B2C3D4E5F607ull, 960000, 5000, 400000};
  sr.report_blocks.push_back({0x9ABCDEF0, 12, 40, 0x00015000, 120, 0xB7052000, 0x00054000});
  SourceDescription sdes;
  sdes.chunks.push_back({0x12345678, {{SdesType::kCname, "parley@voice.example.net"}}});
  ExtendedReport xr;
  xr.ssrc = 0x12345678;
  VoipMetrics m;
  m.ssrc = 0x9ABCDEF0;
  m.loss_rate = 5;
  m.round_trip_delay_ms = 120;
  m.r_factor = 85;
  m.mos_lq = 42;
  m.mos_cq = 41;
  xr.voip_metrics.push_back(m);
  return {{sr, sdes, xr}, 0};
}

void BM_RtpRtcpCompoundBuildSrSdesXr(benchmark::State& state) {
  const RtcpCompound compound = MakeCompound();
  std::vector<uint8_t> buffer(RtcpCompoundSize(compound));
  for (auto _ : state) {
    parley::Result<size_t> n = WriteRtcpCompound(compound, buffer);
    benchmark::DoNotOptimize(n);
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpRtcpCompoundBuildSrSdesXr);

void BM_RtpRtcpCompoundParseSrSdesXr(benchmark::State& state) {
  const RtcpCompound compound = MakeCompound();
  std::vector<uint8_t> buffer(RtcpCompoundSize(compound));
  if (!WriteRtcpCompound(compound, buffer).ok()) std::abort();
  for (auto _ : state) {
    parley::Result<RtcpCompound> parsed = ParseRtcpCompound(buffer);
    benchmark::DoNotOptimize(parsed);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RtpRtcpCompoundParseSrSdesXr);

}  // namespace
