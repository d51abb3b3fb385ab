#include "parley/playout/playout_statistics.h"

#include <stdexcept>
#include <string>

namespace parley::playout {
namespace {

using Seconds = std::chrono::duration<double>;

double ToSeconds(Clock::Duration d) { return std::chrono::duration_cast<Seconds>(d).count(); }

int ValidRate(int sample_rate_hz) {
  if (sample_rate_hz <= 0) {
    throw std::invalid_argument("PlayoutStatisticsRecorder: sample_rate_hz must be > 0");
  }
  return sample_rate_hz;
}

}  // namespace

PlayoutStatisticsRecorder::PlayoutStatisticsRecorder(int sample_rate_hz)
    : sample_rate_hz_(ValidRate(sample_rate_hz)) {}

void PlayoutStatisticsRecorder::SetSampleRate(int sample_rate_hz) {
  sample_rate_hz_ = ValidRate(sample_rate_hz);
}

void PlayoutStatisticsRecorder::EndConcealmentRun() {
  if (concealing_ && run_seconds_ >= Seconds(kInterruptionThreshold).count()) {
    ++stats_.interruptionCount;
    stats_.totalInterruptionDuration += run_seconds_;
  }
  concealing_ = false;
  zero_filling_ = false;
  run_samples_ = 0;
  run_seconds_ = 0;
}

void PlayoutStatisticsRecorder::OnNormal(uint64_t samples) {
  if (samples == 0) return;
  EndConcealmentRun();
  stats_.normal_samples += samples;
}

void PlayoutStatisticsRecorder::OnConcealed(uint64_t samples, bool silent) {
  if (samples == 0) return;
  if (!concealing_) ++stats_.concealmentEvents;
  concealing_ = true;
  zero_filling_ = false;
  const double seconds = static_cast<double>(samples) / sample_rate_hz_;
  run_samples_ += samples;
  run_seconds_ += seconds;
  concealed_seconds_ += seconds;
  stats_.concealedSamples += samples;
  if (silent) stats_.silentConcealedSamples += samples;
}

void PlayoutStatisticsRecorder::OnZeroFill(uint64_t samples) {
  if (samples == 0) return;
  const bool new_run = !zero_filling_;
  OnConcealed(samples, /*silent=*/true);
  zero_filling_ = true;
  if (new_run) ++stats_.zero_fill_events;
  stats_.zero_filled_samples += samples;
}

void PlayoutStatisticsRecorder::OnDecelerate(uint64_t inserted) {
  if (inserted == 0) return;
  EndConcealmentRun();
  stats_.insertedSamplesForDeceleration += inserted;
}

void PlayoutStatisticsRecorder::OnAccelerate(uint64_t removed) {
  if (removed == 0) return;
  EndConcealmentRun();
  stats_.removedSamplesForAcceleration += removed;
}

void PlayoutStatisticsRecorder::OnEmitted(uint64_t samples) {
  stats_.totalSamplesReceived += samples;
}

void PlayoutStatisticsRecorder::OnJitterBufferEmitted(uint64_t samples,
                                                      Clock::Duration buffer_delay,
                                                      Clock::Duration target_delay,
                                                      Clock::Duration minimum_delay) {
  const double n = static_cast<double>(samples);
  stats_.jitterBufferDelay += ToSeconds(buffer_delay) * n;
  stats_.jitterBufferTargetDelay += ToSeconds(target_delay) * n;
  stats_.jitterBufferMinimumDelay += ToSeconds(minimum_delay) * n;
  stats_.jitterBufferEmittedCount += samples;
}

void PlayoutStatisticsRecorder::SetPacketCounts(const PacketBuffer::Stats& buffer) {
  stats_.late_packets = buffer.late;
  stats_.duplicate_packets = buffer.duplicates;
  stats_.overflow_dropped_packets = buffer.overflow_dropped;
  stats_.packetsDiscarded =
      buffer.late + buffer.overflow_dropped + buffer.discarded_old + buffer.flushed;
  stats_.fecPacketsReceived = buffer.redundant_received;
  stats_.fecPacketsDiscarded = buffer.redundant_discarded;
}

Status PlayoutStatisticsRecorder::CheckInvariants() const {
  const PlayoutStatistics& s = stats_;
  // Unsigned arithmetic wraps consistently, so the sum is exact even if removed > rest.
  const uint64_t expected = s.normal_samples + s.concealedSamples +
                            s.insertedSamplesForDeceleration - s.removedSamplesForAcceleration;
  if (s.totalSamplesReceived != expected) {
    return Error{"emitted " + std::to_string(s.totalSamplesReceived) + " != normal " +
                 std::to_string(s.normal_samples) + " + concealed " +
                 std::to_string(s.concealedSamples) + " + inserted " +
                 std::to_string(s.insertedSamplesForDeceleration) + " - removed " +
                 std::to_string(s.removedSamplesForAcceleration)};
  }
  if (s.silentConcealedSamples > s.concealedSamples) {
    return Error{"silentConcealedSamples " + std::to_string(s.silentConcealedSamples) +
                 " > concealedSamples " + std::to_string(s.concealedSamples)};
  }
  if (s.zero_filled_samples > s.silentConcealedSamples) {
    return Error{"zero_filled_samples " + std::to_string(s.zero_filled_samples) +
                 " > silentConcealedSamples " + std::to_string(s.silentConcealedSamples)};
  }
  if (s.concealmentEvents > s.concealedSamples || s.zero_fill_events > s.zero_filled_samples) {
    return Error{"more events than samples: concealmentEvents " +
                 std::to_string(s.concealmentEvents) + ", zero_fill_events " +
                 std::to_string(s.zero_fill_events)};
  }
  if (s.interruptionCount > s.concealmentEvents ||
      s.totalInterruptionDuration > concealed_seconds_ + 1e-9) {
    return Error{"interruptions " + std::to_string(s.interruptionCount) + " (" +
                 std::to_string(s.totalInterruptionDuration) + " s) exceed concealment " +
                 std::to_string(s.concealmentEvents) + " events (" +
                 std::to_string(concealed_seconds_) + " s)"};
  }
  return Status::Ok();
}

}  // namespace parley::playout
