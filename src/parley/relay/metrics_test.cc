#include "parley/relay/metrics.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>

namespace parley::relay {
namespace {

RelayStats SomeStats() {
  RelayStats stats;
  stats.uptime_s = 12.5;
  stats.signaling.rooms = 1;
  stats.signaling.participants = 2;
  stats.signaling.connections_open = 3;
  stats.signaling.connections_accepted = 9;
  stats.signaling.joins = 4;
  stats.signaling.leaves = 2;
  stats.signaling.errors[static_cast<size_t>(session::ErrorCode::kUnauthorized)] = 5;
  stats.signaling.token_refusals[static_cast<size_t>(session::TokenError::kForged)] = 6;
  stats.signaling.traffic.bytes_in = 1234;
  stats.router.rtp_forwarded = 77;
  stats.router.rtcp_undecryptable = 13;
  stats.router.rtcp_protect_failures = 2;
  stats.router.bytes_out = 4321;
  stats.router.dropped[static_cast<size_t>(DropReason::kUnknownSource)] = 8;
  stats.media.received = 100;
  stats.media.sent = 90;
  stats.recording.packets_recorded = 55;
  stats.recording.dropped[static_cast<size_t>(RecordingDrop::kQueueFull)] = 3;
  stats.recording.files_open = 4;
  stats.recording.errors = 1;
  return stats;
}

bool HasLine(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos || text.starts_with(line + "\n");
}

TEST(MetricsTest, SamplesCarryTheStatsValues) {
  const std::string text = FormatPrometheus(SomeStats());
  for (const char* line : {
           "parley_relay_uptime_seconds 12.500",
           "parley_relay_rooms 1",
           "parley_relay_participants 2",
           "parley_relay_signaling_connections 3",
           "parley_relay_signaling_connections_total 9",
           "parley_relay_joins_total 4",
           "parley_relay_leaves_total 2",
           "parley_relay_signaling_errors_total{code=\"unauthorized\"} 5",
           "parley_relay_signaling_errors_total{code=\"bad_message\"} 0",
           "parley_relay_token_refusals_total{reason=\"forged\"} 6",
           "parley_relay_token_refusals_total{reason=\"expired\"} 0",
           "parley_relay_participant_bytes_received_total 1234",
           "parley_relay_media_rtp_forwarded_total 77",
           "parley_relay_media_rtcp_undecryptable_total 13",
           "parley_relay_media_rtcp_protect_failures_total 2",
           "parley_relay_media_bytes_sent_total 4321",
           "parley_relay_media_dropped_total{reason=\"unknown_source\"} 8",
           "parley_relay_media_dropped_total{reason=\"room_empty\"} 0",
           "parley_relay_media_datagrams_received_total 100",
           "parley_relay_media_datagrams_sent_total 90",
           "parley_relay_recording_packets_total 55",
           "parley_relay_recording_dropped_total{reason=\"queue_full\"} 3",
           "parley_relay_recording_dropped_total{reason=\"file_error\"} 0",
           "parley_relay_recording_files_open 4",
           "parley_relay_recording_errors_total 1",
       }) {
    EXPECT_TRUE(HasLine(text, line)) << "missing: " << line << "\n" << text;
  }
}

// Every sample belongs to a family announced just before with HELP and TYPE; counters end
// in _total; every name has the relay's prefix; all label values of a family are listed.
// Socket errors: one series per operation and errno, all listed (zeros too), named as
// the system names them.
TEST(MetricsTest, SocketErrorsAreListedByOperationAndErrno) {
  RelayStats stats;
  stats.media.socket_errors[static_cast<size_t>(net::SocketOp::kReceive)]
                           [net::CountedErrnoIndex(ENOBUFS)] = 7;
  stats.media
      .socket_errors[static_cast<size_t>(net::SocketOp::kSend)][net::CountedErrnoIndex(ENOSPC)] =
      2;  // not named: "other"
  const std::string text = FormatPrometheus(stats);
  EXPECT_TRUE(
      HasLine(text, R"(parley_relay_media_socket_errors_total{op="recv",errno="ENOBUFS"} 7)"));
  EXPECT_TRUE(
      HasLine(text, R"(parley_relay_media_socket_errors_total{op="send",errno="other"} 2)"));
  EXPECT_TRUE(
      HasLine(text, R"(parley_relay_media_socket_errors_total{op="poll",errno="EBADF"} 0)"));
  size_t series = 0;
  for (size_t at = 0;
       (at = text.find("\nparley_relay_media_socket_errors_total{", at)) != std::string::npos;
       ++at) {
    ++series;
  }
  EXPECT_EQ(series, net::kSocketOpCount * net::kCountedErrnoCount);
}

TEST(MetricsTest, FollowsTheTextExpositionFormat) {
  RelayStats stats;
  stats.links = LinkHistograms{}.Snapshot();  // every bucket, all empty
  const std::string text = FormatPrometheus(stats);
  ASSERT_EQ(text.back(), '\n');
  std::istringstream lines(text);
  std::string line;
  std::string family;
  std::string type;
  std::set<std::string> families;
  size_t error_samples = 0;
  size_t drop_samples = 0;
  size_t recording_drop_samples = 0;
  size_t token_samples = 0;
  while (std::getline(lines, line)) {
    if (line.starts_with("# HELP ")) {
      family = line.substr(7, line.find(' ', 7) - 7);
      EXPECT_TRUE(family.starts_with("parley_relay_")) << line;
      EXPECT_TRUE(families.insert(family).second) << "family twice: " << family;
      continue;
    }
    if (line.starts_with("# TYPE ")) {
      EXPECT_EQ(line.substr(7, family.size()), family) << line;
      type = line.substr(8 + family.size());
      EXPECT_TRUE(type == "counter" || type == "gauge" || type == "histogram") << line;
      EXPECT_EQ(type == "counter", family.ends_with("_total")) << line;
      continue;
    }
    const std::string name = line.substr(0, line.find_first_of("{ "));
    if (type == "histogram") {
      EXPECT_TRUE(name == family + "_bucket" || name == family + "_sum" ||
                  name == family + "_count")
          << "sample outside its family: " << line;
    } else {
      EXPECT_EQ(name, family) << "sample outside its family: " << line;
    }
    if (name == "parley_relay_signaling_errors_total") ++error_samples;
    if (name == "parley_relay_media_dropped_total") ++drop_samples;
    if (name == "parley_relay_recording_dropped_total") ++recording_drop_samples;
    if (name == "parley_relay_token_refusals_total") ++token_samples;
  }
  EXPECT_EQ(error_samples, kErrorCodeCount);
  EXPECT_EQ(drop_samples, kDropReasonCount);
  EXPECT_EQ(recording_drop_samples, kRecordingDropCount);
  EXPECT_EQ(token_samples, kTokenErrorCount);
}

TEST(MetricsTest, LinkHistogramsHaveCumulativeBucketsSumAndCount) {
  LinkHistograms links;
  for (double rtt : {0.004, 0.030, 0.045, 2.5}) links.rtt.Observe(rtt);
  links.uplink_loss.Observe(0.0);
  links.downlink_loss.Observe(0.1);
  RelayStats stats;
  stats.links = links.Snapshot();
  const std::string text = FormatPrometheus(stats);
  auto has = [&](const std::string& line) {
    return text.find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has("# TYPE parley_relay_link_rtt_seconds histogram")) << text;
  EXPECT_TRUE(has("parley_relay_link_rtt_seconds_bucket{le=\"0.005\"} 1")) << text;
  EXPECT_TRUE(has("parley_relay_link_rtt_seconds_bucket{le=\"0.025\"} 1")) << text;
  EXPECT_TRUE(has("parley_relay_link_rtt_seconds_bucket{le=\"0.05\"} 3")) << text;
  EXPECT_TRUE(has("parley_relay_link_rtt_seconds_bucket{le=\"1.6\"} 3")) << text;
  EXPECT_TRUE(has("parley_relay_link_rtt_seconds_bucket{le=\"+Inf\"} 4")) << text;
  EXPECT_TRUE(has("parley_relay_link_rtt_seconds_sum 2.579")) << text;
  EXPECT_TRUE(has("parley_relay_link_rtt_seconds_count 4")) << text;
  // Both directions of loss, a loss of 0 in the first bucket.
  EXPECT_TRUE(has("parley_relay_link_loss_ratio_bucket{direction=\"uplink\",le=\"0\"} 1")) << text;
  EXPECT_TRUE(has("parley_relay_link_loss_ratio_bucket{direction=\"downlink\",le=\"0.05\"} 0"))
      << text;
  EXPECT_TRUE(has("parley_relay_link_loss_ratio_count{direction=\"downlink\"} 1")) << text;
}

TEST(MetricsTest, HealthIsJsonWithUptimeRoomsAndParticipants) {
  const nlohmann::json health = nlohmann::json::parse(FormatHealth(SomeStats()));
  EXPECT_EQ(health["status"], "ok");
  EXPECT_DOUBLE_EQ(health["uptime_s"].get<double>(), 12.5);
  EXPECT_EQ(health["rooms"], 1);
  EXPECT_EQ(health["participants"], 2);
}

}  // namespace
}  // namespace parley::relay
