#include "parley/rtp/rtcp_scheduler.h"

#include <fmt/format.h>

#include <algorithm>
#include <cassert>

namespace parley::rtp {
namespace {

constexpr double kAverageWeight = 1.0 / 16.0;  // A.7: avg_rtcp_size moving average

Clock::Duration Seconds(double seconds) {
  return std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double>(seconds));
}

}  // namespace

Status ValidateRtcpSchedulerConfig(const RtcpSchedulerConfig& config) {
  if (!(config.session_bandwidth_bps > 0)) {
    return Error{fmt::format("RTCP scheduler: session bandwidth {} bit/s <= 0",
                             config.session_bandwidth_bps)};
  }
  if (!(config.rtcp_fraction > 0 && config.rtcp_fraction <= 1)) {
    return Error{
        fmt::format("RTCP scheduler: RTCP fraction {} not in (0, 1]", config.rtcp_fraction)};
  }
  if (!(config.sender_fraction > 0 && config.sender_fraction < 1)) {
    return Error{
        fmt::format("RTCP scheduler: sender fraction {} not in (0, 1)", config.sender_fraction)};
  }
  if (config.min_interval.count() <= 0) {
    return Error{
        fmt::format("RTCP scheduler: minimum interval {} ms <= 0", config.min_interval.count())};
  }
  if (config.initial_avg_rtcp_bytes <= 0) {
    return Error{
        fmt::format("RTCP scheduler: initial packet size {} <= 0", config.initial_avg_rtcp_bytes)};
  }
  return Status::Ok();
}

RtcpScheduler::RtcpScheduler(const Clock& clock, std::mt19937_64& rng, RtcpSchedulerConfig config)
    : clock_(clock),
      rng_(rng),
      config_(config),
      avg_rtcp_bytes_(config.initial_avg_rtcp_bytes),
      last_report_(clock.Now()) {
  assert(ValidateRtcpSchedulerConfig(config_).ok());
  next_report_ = last_report_ + DrawInterval();
}

Clock::Duration RtcpScheduler::DeterministicInterval() const {
  // A.7 rtcp_interval() without the random factor.
  double rtcp_bytes_per_second = config_.session_bandwidth_bps / 8.0 * config_.rtcp_fraction;
  double min_seconds = config_.reduced_minimum
                           ? 360.0 / (config_.session_bandwidth_bps / 1000.0)
                           : std::chrono::duration<double>(config_.min_interval).count();
  if (initial_) min_seconds /= 2;
  double n = members_;
  if (senders_ <= members_ * config_.sender_fraction) {
    if (we_sent_) {
      rtcp_bytes_per_second *= config_.sender_fraction;
      n = senders_;
    } else {
      rtcp_bytes_per_second *= 1.0 - config_.sender_fraction;
      n -= senders_;
    }
  }
  const double seconds = std::max(min_seconds, avg_rtcp_bytes_ * n / rtcp_bytes_per_second);
  return Seconds(seconds);
}

Clock::Duration RtcpScheduler::DrawInterval() {
  std::uniform_real_distribution<double> factor(0.5, 1.5);
  const double td = std::chrono::duration<double>(DeterministicInterval()).count();
  return Seconds(td * factor(rng_) / kCompensation);
}

bool RtcpScheduler::OnTimer() {
  // A.7 OnExpire(): forward reconsideration.
  const Clock::TimePoint now = clock_.Now();
  const Clock::TimePoint candidate = last_report_ + DrawInterval();
  if (candidate <= now) return true;
  next_report_ = candidate;
  return false;
}

void RtcpScheduler::OnReportSent(int packet_bytes) {
  const Clock::TimePoint now = clock_.Now();
  avg_rtcp_bytes_ += kAverageWeight * (packet_bytes + kIpUdpOverheadBytes - avg_rtcp_bytes_);
  last_report_ = now;
  initial_ = false;
  pmembers_ = members_;
  next_report_ = now + DrawInterval();
}

void RtcpScheduler::OnReportReceived(int packet_bytes) {
  avg_rtcp_bytes_ += kAverageWeight * (packet_bytes + kIpUdpOverheadBytes - avg_rtcp_bytes_);
}

void RtcpScheduler::SetMembers(int members) {
  members = std::max(members, 1);
  members_ = members;
  senders_ = std::min(senders_, members_);
  if (members_ < pmembers_) {
    // A.7 reverse reconsideration: pull tn and tp towards now in proportion.
    const Clock::TimePoint now = clock_.Now();
    const double ratio = static_cast<double>(members_) / pmembers_;
    next_report_ =
        now + std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double, std::nano>(
                  ratio * static_cast<double>((next_report_ - now).count())));
    last_report_ =
        now - std::chrono::duration_cast<Clock::Duration>(std::chrono::duration<double, std::nano>(
                  ratio * static_cast<double>((now - last_report_).count())));
    pmembers_ = members_;
  }
}

void RtcpScheduler::SetSenders(int senders) { senders_ = std::clamp(senders, 0, members_); }

}  // namespace parley::rtp
