// Test-only helpers shared by the codec tests (header-only, so the library never links
// it): run a signal through an encoder/decoder pair packet by packet.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "parley/codec/codec.h"

namespace parley::codec::test {

// An encoder from the factory `create` for `config`. Records a test failure when the
// factory fails (the call then throws, ending the test).
inline std::unique_ptr<AudioEncoder> MakeEncoder(EncoderFactory create,
                                                 const EncoderConfig& config) {
  Result<std::unique_ptr<AudioEncoder>> encoder = create(config);
  EXPECT_TRUE(encoder.ok()) << encoder.error().message;
  return std::move(*encoder);
}

// A decoder from the factory `create` for `config`; fails as MakeEncoder() does.
inline std::unique_ptr<AudioDecoder> MakeDecoder(DecoderFactory create,
                                                 const DecoderConfig& config = {}) {
  Result<std::unique_ptr<AudioDecoder>> decoder = create(config);
  EXPECT_TRUE(decoder.ok()) << decoder.error().message;
  return std::move(*decoder);
}

struct RoundTrip {
  std::vector<int16_t> decoded;       // interleaved, one decoded packet after another
  std::vector<size_t> payload_bytes;  // size of each encoded packet
};

// Encodes `pcm` (interleaved, encoder.channels()) in whole packets, dropping a tail that
// does not fill one, and decodes every non-empty payload. Records a test failure and
// stops at the first error.
inline RoundTrip EncodeDecode(AudioEncoder& encoder, AudioDecoder& decoder,
                              std::span<const int16_t> pcm) {
  RoundTrip result;
  const size_t packet = static_cast<size_t>(encoder.frame_samples() * encoder.channels());
  std::vector<uint8_t> payload(encoder.max_payload_bytes());
  std::vector<int16_t> out;
  for (size_t offset = 0; offset + packet <= pcm.size(); offset += packet) {
    Result<size_t> bytes = encoder.Encode(pcm.subspan(offset, packet), payload);
    if (!bytes) {
      ADD_FAILURE() << "Encode at sample " << offset << ": " << bytes.error().message;
      return result;
    }
    result.payload_bytes.push_back(*bytes);
    if (*bytes == 0) continue;
    const std::span<const uint8_t> sent(payload.data(), *bytes);
    Result<int> samples = decoder.PacketSamples(sent);
    if (!samples) {
      ADD_FAILURE() << "PacketSamples at sample " << offset << ": " << samples.error().message;
      return result;
    }
    out.resize(static_cast<size_t>(*samples * decoder.channels()));
    Result<int> decoded = decoder.Decode(sent, out);
    if (!decoded) {
      ADD_FAILURE() << "Decode at sample " << offset << ": " << decoded.error().message;
      return result;
    }
    EXPECT_EQ(*decoded, *samples);
    result.decoded.insert(result.decoded.end(), out.begin(), out.end());
  }
  return result;
}

// RMS level of `samples` in dB re int16 full scale, per block of `block` samples, clamped
// to at least `floor_dbfs` so that the noise level of pauses does not dominate.
inline std::vector<double> EnvelopeDbfs(std::span<const int16_t> samples, size_t block,
                                        double floor_dbfs = -60.0) {
  std::vector<double> envelope;
  for (size_t offset = 0; offset + block <= samples.size(); offset += block) {
    double energy = 0;
    for (size_t i = offset; i < offset + block; ++i) energy += double(samples[i]) * samples[i];
    const double rms = std::sqrt(energy / double(block)) / 32768.0;
    envelope.push_back(std::max(floor_dbfs, rms > 1e-9 ? 20 * std::log10(rms) : -180.0));
  }
  return envelope;
}

// Pearson correlation of two equally long series.
inline double Correlation(std::span<const double> a, std::span<const double> b) {
  const size_t n = std::min(a.size(), b.size());
  double ma = 0, mb = 0;
  for (size_t i = 0; i < n; ++i) ma += a[i], mb += b[i];
  ma /= double(n), mb /= double(n);
  double ab = 0, aa = 0, bb = 0;
  for (size_t i = 0; i < n; ++i) {
    ab += (a[i] - ma) * (b[i] - mb);
    aa += (a[i] - ma) * (a[i] - ma);
    bb += (b[i] - mb) * (b[i] - mb);
  }
  return aa > 0 && bb > 0 ? ab / std::sqrt(aa * bb) : 0.0;
}

}  // namespace parley::codec::test
