// SRTP cost per packet and RED packing cost, on 20 ms Opus-sized packets (12-byte RTP
// header + 80-byte payload, 32 kbit/s voice).
//
//   ./build/release/bench/parley_bench --benchmark_filter='Srtp|Red'
#include <benchmark/benchmark.h>

#include <array>
#include <cstdlib>
#include <vector>

#include "parley/rtp/red.h"
#include "parley/rtp/srtp_session.h"

namespace {

using namespace parley::rtp;

constexpr size_t kRtpHeaderBytes = 12;
constexpr size_t kOpusPayloadBytes = 80;  // 20 ms at 32 kbit/s
constexpr uint32_t kTicksPer20Ms = 960;

SrtpKeyMaterial BenchKey(SrtpProfile profile) {
  const std::vector<uint8_t> key(kSrtpMasterKeyBytes, 0x42);
  const std::vector<uint8_t> salt(SrtpMasterSaltBytes(profile), 0x24);
  auto material = MakeSrtpKeyMaterial(profile, key, salt);
  if (!material) std::abort();
  return *material;
}

void FillRtp(std::vector<uint8_t>& buffer, uint16_t seq) {
  const std::array<uint8_t, kRtpHeaderBytes> header = {
      0x80, 111, static_cast<uint8_t>(seq >> 8), static_cast<uint8_t>(seq), 0, 0, 0, 0, 0x11, 0x22,
      0x33, 0x44};
  std::copy(header.begin(), header.end(), buffer.begin());
  for (size_t i = 0; i < kOpusPayloadBytes; ++i)
    buffer[kRtpHeaderBytes + i] = static_cast<uint8_t>(i);
}

// Protect + unprotect of one packet: the cost both ends of a call pay per packet.
void BM_SrtpProtectUnprotect(benchmark::State& state, SrtpProfile profile) {
  auto out = SrtpOutboundSession::Create(BenchKey(profile));
  auto in = SrtpInboundSession::Create(BenchKey(profile));
  if (!out || !in) std::abort();
  std::vector<uint8_t> buffer(kRtpHeaderBytes + kOpusPayloadBytes + kSrtpMaxRtpOverheadBytes);
  uint16_t seq = 0;
  for (auto _ : state) {
    FillRtp(buffer, seq++);
    auto protected_bytes = out->ProtectRtp(buffer, kRtpHeaderBytes + kOpusPayloadBytes);
    if (!protected_bytes) std::abort();
    auto plain = in->UnprotectRtp(std::span(buffer).first(*protected_bytes));
    if (!plain) std::abort();
    benchmark::DoNotOptimize(buffer.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_SrtpProtectUnprotect, AesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_80);
BENCHMARK_CAPTURE(BM_SrtpProtectUnprotect, AeadAes128Gcm, SrtpProfile::kAeadAes128Gcm);

// The cost of rejecting a forged packet (flooding resistance): unprotect with a bad tag.
void BM_SrtpRejectForgery(benchmark::State& state, SrtpProfile profile) {
  auto out = SrtpOutboundSession::Create(BenchKey(profile));
  auto in = SrtpInboundSession::Create(BenchKey(profile));
  if (!out || !in) std::abort();
  std::vector<uint8_t> wire(kRtpHeaderBytes + kOpusPayloadBytes + kSrtpMaxRtpOverheadBytes);
  FillRtp(wire, 1);
  auto bytes = out->ProtectRtp(wire, kRtpHeaderBytes + kOpusPayloadBytes);
  if (!bytes) std::abort();
  wire.resize(*bytes);
  wire.back() ^= 1;
  std::vector<uint8_t> copy(wire.size());
  for (auto _ : state) {
    std::copy(wire.begin(), wire.end(), copy.begin());
    auto result = in->UnprotectRtp(copy);
    if (result) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK_CAPTURE(BM_SrtpRejectForgery, AesCm128HmacSha1_80, SrtpProfile::kAesCm128HmacSha1_80);
BENCHMARK_CAPTURE(BM_SrtpRejectForgery, AeadAes128Gcm, SrtpProfile::kAeadAes128Gcm);

// RED with the primary and `state.range(0)` redundant 20 ms blocks: build, then split.
void BM_RedBuildSplit(benchmark::State& state) {
  const size_t redundant_count = static_cast<size_t>(state.range(0));
  std::vector<std::vector<uint8_t>> data(redundant_count + 1,
                                         std::vector<uint8_t>(kOpusPayloadBytes, 0x5A));
  const uint32_t ts = 96000;
  std::vector<RedBlock> redundant;
  for (size_t i = 0; i < redundant_count; ++i) {
    redundant.push_back(
        {111, ts - static_cast<uint32_t>(redundant_count - i) * kTicksPer20Ms, data[i]});
  }
  const RedBlock primary{111, ts, data.back()};
  std::vector<uint8_t> payload(RedPayloadBytes(redundant, primary));
  std::array<RedBlock, 8> blocks;
  for (auto _ : state) {
    auto bytes = BuildRedPayload(redundant, primary, payload);
    auto count = ParseRedPayload(payload, ts, blocks);
    if (!bytes || !count) std::abort();
    benchmark::DoNotOptimize(blocks.data());
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_RedBuildSplit)->Arg(1)->Arg(2);

}  // namespace
