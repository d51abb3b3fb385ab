#include "parley/rtp/srtp_session.h"

#include <gtest/gtest.h>

#include <array>
#include <cstdint>
#include <vector>

namespace parley::rtp {
namespace {

// libsrtp's own reference packets (test/srtp_driver.c, srtp_validate and
// srtp_validate_gcm), made with SSRC 0xcafebabe, sequence 0x1234.
const std::vector<uint8_t> kCmKey = {0xe1, 0xf9, 0x7a, 0x0d, 0x3e, 0x01, 0x8b, 0xe0,
                                     0xd6, 0x4f, 0xa3, 0x2c, 0x06, 0xde, 0x41, 0x39};
const std::vector<uint8_t> kCmSalt = {0x0e, 0xc6, 0x75, 0xad, 0x49, 0x8a, 0xfe,
                                      0xeb, 0xb6, 0x96, 0x0b, 0x3a, 0xab, 0xe6};
const std::vector<uint8_t> kGcmKey = {0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
                                      0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f};
const std::vector<uint8_t> kGcmSalt = {0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5,
                                       0xa6, 0xa7, 0xa8, 0xa9, 0xaa, 0xab};

std::vector<uint8_t> Hex(std::string_view hex) {
  std::vector<uint8_t> out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

const std::vector<uint8_t> kRtpPlain =
    Hex("800f1234decafbadcafebabeabababababababababababababababab");
const std::vector<uint8_t> kRtcpPlain = Hex("81c8000bcafebabeabababababababababababababababab");

SrtpKeyMaterial Key(SrtpProfile profile) {
  const bool cm = profile == SrtpProfile::kAesCm128HmacSha1_80;
  Result<SrtpKeyMaterial> key =
      MakeSrtpKeyMaterial(profile, cm ? kCmKey : kGcmKey, cm ? kCmSalt : kGcmSalt);
  EXPECT_TRUE(key.ok());
  return *key;
}

SrtpOutboundSession Outbound(SrtpProfile profile) {
  Result<SrtpOutboundSession> session = SrtpOutboundSession::Create(Key(profile));
  EXPECT_TRUE(session.ok()) << session.error().message;
  return std::move(session).value();
}

SrtpInboundSession Inbound(SrtpProfile profile) {
  Result<SrtpInboundSession> session = SrtpInboundSession::Create(Key(profile));
  EXPECT_TRUE(session.ok()) << session.error().message;
  return std::move(session).value();
}

// Protects `plain` into a buffer with the required tail room; returns the wire packet.
std::vector<uint8_t> Protect(SrtpOutboundSession& out, const std::vector<uint8_t>& plain,
                             bool rtcp) {
  std::vector<uint8_t> buffer(plain.size() + kSrtpMaxRtcpOverheadBytes);
  std::copy(plain.begin(), plain.end(), buffer.begin());
  Result<size_t> bytes =
      rtcp ? out.ProtectRtcp(buffer, plain.size()) : out.ProtectRtp(buffer, plain.size());
  EXPECT_TRUE(bytes.ok()) << bytes.error().message;
  buffer.resize(bytes.ok() ? *bytes : 0);
  return buffer;
}

struct KnownAnswer {
  SrtpProfile profile;
  const char* srtp;
  const char* srtcp;
};

class SrtpKnownAnswerTest : public testing::TestWithParam<KnownAnswer> {};

TEST_P(SrtpKnownAnswerTest, ProtectMatchesReferenceAndUnprotectInverts) {
  const KnownAnswer& vector = GetParam();
  SrtpOutboundSession out = Outbound(vector.profile);
  EXPECT_EQ(Protect(out, kRtpPlain, false), Hex(vector.srtp));
  EXPECT_EQ(Protect(out, kRtcpPlain, true), Hex(vector.srtcp));

  SrtpInboundSession in = Inbound(vector.profile);
  std::vector<uint8_t> srtp = Hex(vector.srtp);
  Result<size_t> rtp_bytes = in.UnprotectRtp(srtp);
  ASSERT_TRUE(rtp_bytes.ok()) << rtp_bytes.error().message;
  EXPECT_EQ(std::vector<uint8_t>(srtp.begin(), srtp.begin() + static_cast<long>(*rtp_bytes)),
            kRtpPlain);
  std::vector<uint8_t> srtcp = Hex(vector.srtcp);
  Result<size_t> rtcp_bytes = in.UnprotectRtcp(srtcp);
  ASSERT_TRUE(rtcp_bytes.ok()) << rtcp_bytes.error().message;
  EXPECT_EQ(std::vector<uint8_t>(srtcp.begin(), srtcp.begin() + static_cast<long>(*rtcp_bytes)),
            kRtcpPlain);
  EXPECT_EQ(in.stats().rtp_packets, 1u);
  EXPECT_EQ(in.stats().rtcp_packets, 1u);
}

INSTANTIATE_TEST_SUITE_P(
    Profiles, SrtpKnownAnswerTest,
    testing::Values(
        KnownAnswer{SrtpProfile::kAesCm128HmacSha1_80,
                    "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc99ea179b8dbb",
                    "81c8000bcafebabe7128035be487b9bdbef89041f977a5a880000001993e08cd54d6c1230798"},
        KnownAnswer{
            SrtpProfile::kAeadAes128Gcm,
            "800f1234decafbadcafebabec5002ede04cfdd2eb91159e0880aa06ed2976826f796b201df3131a1"
            "27e8a392",
            "81c8000bcafebabec98b8b5df0392a55852b6c21ac8e7025c52c6fbea2b3b446ea31123ba88ce61e"
            "80000001"}));

// An Opus-sized RTP packet (12-byte header + 80-byte payload) with sequence `seq`.
std::vector<uint8_t> RtpPacket(uint16_t seq, uint32_t ssrc = 0x11223344) {
  std::vector<uint8_t> p = {0x80,
                            111,
                            static_cast<uint8_t>(seq >> 8),
                            static_cast<uint8_t>(seq),
                            0,
                            0,
                            0x03,
                            0xC0,
                            static_cast<uint8_t>(ssrc >> 24),
                            static_cast<uint8_t>(ssrc >> 16),
                            static_cast<uint8_t>(ssrc >> 8),
                            static_cast<uint8_t>(ssrc)};
  for (int i = 0; i < 80; ++i) p.push_back(static_cast<uint8_t>(i * 7 + seq));
  return p;
}

// An RTCP receiver report with one report block.
std::vector<uint8_t> RtcpPacket() {
  std::vector<uint8_t> p = {0x81, 201, 0x00, 0x07, 0x11, 0x22, 0x33, 0x44};
  for (int i = 0; i < 24; ++i) p.push_back(static_cast<uint8_t>(i));
  return p;
}

class SrtpProfileTest : public testing::TestWithParam<SrtpProfile> {};

TEST_P(SrtpProfileTest, RoundTripsRtpAndRtcpWithProfileOverhead) {
  SrtpOutboundSession out = Outbound(GetParam());
  SrtpInboundSession in = Inbound(GetParam());
  for (uint16_t seq = 65530; seq != 10; ++seq) {  // across the sequence wrap (ROC 0 -> 1)
    const std::vector<uint8_t> plain = RtpPacket(seq);
    std::vector<uint8_t> wire = Protect(out, plain, false);
    ASSERT_EQ(wire.size(), plain.size() + SrtpRtpOverheadBytes(GetParam()));
    EXPECT_NE(std::vector<uint8_t>(wire.begin() + 12, wire.begin() + 92),
              std::vector<uint8_t>(plain.begin() + 12, plain.end()));
    Result<size_t> bytes = in.UnprotectRtp(wire);
    ASSERT_TRUE(bytes.ok()) << seq << ": " << bytes.error().message;
    wire.resize(*bytes);
    EXPECT_EQ(wire, plain);
  }
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> wire = Protect(out, RtcpPacket(), true);
    ASSERT_EQ(wire.size(), RtcpPacket().size() + SrtpRtcpOverheadBytes(GetParam()));
    Result<size_t> bytes = in.UnprotectRtcp(wire);
    ASSERT_TRUE(bytes.ok()) << bytes.error().message;
    wire.resize(*bytes);
    EXPECT_EQ(wire, RtcpPacket());
  }
  EXPECT_EQ(in.stats().rtp_packets, 16u);
  EXPECT_EQ(in.stats().rtcp_packets, 3u);
  EXPECT_EQ(out.stats().rtp_packets, 16u);
}

TEST_P(SrtpProfileTest, ReplayedPacketsAreRejectedAndCounted) {
  SrtpOutboundSession out = Outbound(GetParam());
  SrtpInboundSession in = Inbound(GetParam());
  const std::vector<uint8_t> wire = Protect(out, RtpPacket(1), false);
  const std::vector<uint8_t> rtcp = Protect(out, RtcpPacket(), true);
  std::vector<uint8_t> copy = wire;
  ASSERT_TRUE(in.UnprotectRtp(copy).ok());
  copy = wire;
  Result<size_t> replay = in.UnprotectRtp(copy);
  ASSERT_FALSE(replay.ok());
  EXPECT_NE(replay.error().message.find("replay"), std::string::npos) << replay.error().message;
  copy = rtcp;
  ASSERT_TRUE(in.UnprotectRtcp(copy).ok());
  copy = rtcp;
  EXPECT_FALSE(in.UnprotectRtcp(copy).ok());
  EXPECT_EQ(in.stats().replays, 2u);
  EXPECT_EQ(in.stats().auth_failures, 0u);

  // Far older than the 128-packet window, though never seen: rejected as a replay too.
  std::vector<std::vector<uint8_t>> stream;
  for (uint16_t seq = 2; seq < 300; ++seq) stream.push_back(Protect(out, RtpPacket(seq), false));
  for (size_t i = 1; i < stream.size(); ++i) ASSERT_TRUE(in.UnprotectRtp(stream[i]).ok());
  EXPECT_FALSE(in.UnprotectRtp(stream[0]).ok());
  EXPECT_EQ(in.stats().replays, 3u);
}

// Flips every byte of a protected packet (header, payload, tag, SRTCP index) in two ways;
// each tampered copy is rejected, and the session still accepts the genuine packet after.
TEST_P(SrtpProfileTest, EverySingleByteTamperIsRejected) {
  for (bool rtcp : {false, true}) {
    SrtpOutboundSession out = Outbound(GetParam());
    SrtpInboundSession in = Inbound(GetParam());
    const std::vector<uint8_t> wire = Protect(out, rtcp ? RtcpPacket() : RtpPacket(7), rtcp);
    uint64_t trials = 0;
    for (size_t i = 0; i < wire.size(); ++i) {
      for (uint8_t mask : {0x01, 0xFF}) {
        std::vector<uint8_t> tampered = wire;
        tampered[i] ^= mask;
        Result<size_t> bytes = rtcp ? in.UnprotectRtcp(tampered) : in.UnprotectRtp(tampered);
        EXPECT_FALSE(bytes.ok()) << (rtcp ? "SRTCP" : "SRTP") << " byte " << i << " ^ "
                                 << int(mask);
        ++trials;
      }
    }
    const SrtpStats& stats = in.stats();
    EXPECT_EQ(stats.auth_failures + stats.replays + stats.other_failures, trials);
    EXPECT_GT(stats.auth_failures, trials / 2);  // mostly caught by the tag
    std::vector<uint8_t> genuine = wire;
    EXPECT_TRUE((rtcp ? in.UnprotectRtcp(genuine) : in.UnprotectRtp(genuine)).ok());
  }
}

TEST_P(SrtpProfileTest, WrongKeyIsRejected) {
  SrtpOutboundSession out = Outbound(GetParam());
  std::vector<uint8_t> other_key = kGcmKey;
  other_key[15] ^= 1;
  const std::vector<uint8_t>& salt =
      GetParam() == SrtpProfile::kAesCm128HmacSha1_80 ? kCmSalt : kGcmSalt;
  Result<SrtpKeyMaterial> key = MakeSrtpKeyMaterial(GetParam(), other_key, salt);
  ASSERT_TRUE(key.ok());
  Result<SrtpInboundSession> in = SrtpInboundSession::Create(*key);
  ASSERT_TRUE(in.ok());
  std::vector<uint8_t> wire = Protect(out, RtpPacket(1), false);
  EXPECT_FALSE(in->UnprotectRtp(wire).ok());
  std::vector<uint8_t> rtcp = Protect(out, RtcpPacket(), true);
  EXPECT_FALSE(in->UnprotectRtcp(rtcp).ok());
  EXPECT_EQ(in->stats().auth_failures, 2u);
}

TEST_P(SrtpProfileTest, ProtectNeedsTailRoomAndUnprotectRejectsRunts) {
  SrtpOutboundSession out = Outbound(GetParam());
  std::vector<uint8_t> tight = RtpPacket(1);
  tight.resize(tight.size() + SrtpRtpOverheadBytes(GetParam()));
  EXPECT_FALSE(out.ProtectRtp(tight, tight.size() - SrtpRtpOverheadBytes(GetParam())).ok());
  EXPECT_EQ(out.stats().other_failures, 1u);

  SrtpInboundSession in = Inbound(GetParam());
  for (size_t n = 0; n < 24; ++n) {
    std::vector<uint8_t> runt(n, 0x80);
    EXPECT_FALSE(in.UnprotectRtp(runt).ok()) << n;
    EXPECT_FALSE(in.UnprotectRtcp(runt).ok()) << n;
  }
}

TEST_P(SrtpProfileTest, SessionsMove) {
  SrtpOutboundSession out = Outbound(GetParam());
  SrtpOutboundSession moved = std::move(out);
  SrtpInboundSession in = Inbound(GetParam());
  SrtpInboundSession in2 = Inbound(GetParam());
  in2 = std::move(in);
  std::vector<uint8_t> wire = Protect(moved, RtpPacket(3), false);
  EXPECT_TRUE(in2.UnprotectRtp(wire).ok());
}

TEST_P(SrtpProfileTest, TryCallsWorkAndCountLikeTheOthers) {
  SrtpOutboundSession out = Outbound(GetParam());
  SrtpInboundSession in = Inbound(GetParam());
  for (bool rtcp : {false, true}) {
    const std::vector<uint8_t> plain = rtcp ? RtcpPacket() : RtpPacket(5);
    std::vector<uint8_t> buffer(plain.size() + kSrtpMaxRtcpOverheadBytes);
    std::copy(plain.begin(), plain.end(), buffer.begin());
    const std::optional<size_t> wire =
        rtcp ? out.TryProtectRtcp(buffer, plain.size()) : out.TryProtectRtp(buffer, plain.size());
    ASSERT_TRUE(wire.has_value());
    buffer.resize(*wire);
    std::vector<uint8_t> tampered = buffer;
    tampered[tampered.size() - 1] ^= 0x40;
    EXPECT_FALSE(rtcp ? in.TryUnprotectRtcp(tampered) : in.TryUnprotectRtp(tampered));
    const std::optional<size_t> back =
        rtcp ? in.TryUnprotectRtcp(buffer) : in.TryUnprotectRtp(buffer);
    ASSERT_TRUE(back.has_value());
    buffer.resize(*back);
    EXPECT_EQ(buffer, plain);
  }
  std::vector<uint8_t> tight = RtpPacket(6);
  EXPECT_FALSE(out.TryProtectRtp(tight, tight.size()).has_value());
  EXPECT_EQ(out.stats().rtp_packets, 1u);
  EXPECT_EQ(out.stats().rtcp_packets, 1u);
  EXPECT_EQ(out.stats().other_failures, 1u);
  EXPECT_EQ(in.stats().auth_failures, 2u);
  EXPECT_EQ(in.stats().rtp_packets + in.stats().rtcp_packets, 2u);
}

// A sender that left and comes back with its SRTCP index restarted (a new outbound
// session): the replay window still holds its old packets, so its reports are refused
// until the receiver forgets the old stream.
TEST_P(SrtpProfileTest, RemoveSsrcForgetsAStreamsReplayWindow) {
  SrtpInboundSession in = Inbound(GetParam());
  SrtpOutboundSession first = Outbound(GetParam());
  for (int i = 0; i < 3; ++i) {
    std::vector<uint8_t> wire = Protect(first, RtcpPacket(), true);
    ASSERT_TRUE(in.UnprotectRtcp(wire).ok());
  }
  SrtpOutboundSession again = Outbound(GetParam());  // index 1 again
  std::vector<uint8_t> restarted = Protect(again, RtcpPacket(), true);
  std::vector<uint8_t> copy = restarted;
  EXPECT_FALSE(in.UnprotectRtcp(copy).ok());
  EXPECT_EQ(in.stats().replays, 1u);

  EXPECT_TRUE(in.RemoveSsrc(0x11223344));
  EXPECT_FALSE(in.RemoveSsrc(0x11223344)) << "already gone";
  EXPECT_FALSE(in.RemoveSsrc(0x55667788)) << "never seen";
  copy = restarted;
  EXPECT_TRUE(in.UnprotectRtcp(copy).ok());
}

INSTANTIATE_TEST_SUITE_P(Profiles, SrtpProfileTest,
                         testing::Values(SrtpProfile::kAesCm128HmacSha1_80,
                                         SrtpProfile::kAeadAes128Gcm));

TEST(SrtpKeyTest, KeyLengthsPerProfile) {
  EXPECT_EQ(SrtpMasterSaltBytes(SrtpProfile::kAesCm128HmacSha1_80), 14u);
  EXPECT_EQ(SrtpMasterSaltBytes(SrtpProfile::kAeadAes128Gcm), 12u);
  EXPECT_FALSE(MakeSrtpKeyMaterial(SrtpProfile::kAeadAes128Gcm, kCmKey, kCmSalt).ok());
  EXPECT_FALSE(MakeSrtpKeyMaterial(SrtpProfile::kAesCm128HmacSha1_80, kCmSalt, kCmSalt).ok());
  EXPECT_FALSE(SrtpOutboundSession::Create(SrtpKeyMaterial{}).ok());
}

TEST(SrtpKeyTest, SuiteNamesAndKeyThenSaltAsSignalingCarriesThem) {
  for (SrtpProfile profile : {SrtpProfile::kAesCm128HmacSha1_80, SrtpProfile::kAeadAes128Gcm}) {
    EXPECT_EQ(SrtpProfileFromName(SrtpProfileName(profile)), profile);
  }
  EXPECT_EQ(SrtpProfileName(SrtpProfile::kAesCm128HmacSha1_80), "AES_CM_128_HMAC_SHA1_80");
  EXPECT_EQ(SrtpProfileName(SrtpProfile::kAeadAes128Gcm), "AEAD_AES_128_GCM");
  EXPECT_FALSE(SrtpProfileFromName("aes_cm_128_hmac_sha1_80").has_value());

  std::vector<uint8_t> key_then_salt = kCmKey;
  key_then_salt.insert(key_then_salt.end(), kCmSalt.begin(), kCmSalt.end());
  Result<SrtpKeyMaterial> key = MakeSrtpKeyMaterial("AES_CM_128_HMAC_SHA1_80", key_then_salt);
  ASSERT_TRUE(key.ok()) << key.error().message;
  EXPECT_EQ(*key, Key(SrtpProfile::kAesCm128HmacSha1_80));
  EXPECT_NE(*key, Key(SrtpProfile::kAeadAes128Gcm));

  Result<SrtpKeyMaterial> short_key = MakeSrtpKeyMaterial("AEAD_AES_128_GCM", key_then_salt);
  ASSERT_FALSE(short_key.ok());
  EXPECT_EQ(short_key.error().message, "AEAD_AES_128_GCM: key and salt 30 bytes, expected 28");
  Result<SrtpKeyMaterial> unknown = MakeSrtpKeyMaterial("NULL", key_then_salt);
  ASSERT_FALSE(unknown.ok());
  EXPECT_NE(unknown.error().message.find("'NULL' unknown"), std::string::npos);
}

TEST(SrtpKeyTest, ParsesSdesInlineKeys) {
  Result<SrtpKeyMaterial> cm = ParseSdesInlineKey(
      SrtpProfile::kAesCm128HmacSha1_80, "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm");
  ASSERT_TRUE(cm.ok()) << cm.error().message;
  EXPECT_TRUE(std::equal(kCmKey.begin(), kCmKey.end(), cm->key().begin(), cm->key().end()));
  EXPECT_TRUE(std::equal(kCmSalt.begin(), kCmSalt.end(), cm->salt().begin(), cm->salt().end()));

  Result<SrtpKeyMaterial> gcm = ParseSdesInlineKey(
      SrtpProfile::kAeadAes128Gcm, "inline:AAECAwQFBgcICQoLDA0OD6ChoqOkpaanqKmqqw==|2^31");
  ASSERT_TRUE(gcm.ok()) << gcm.error().message;
  EXPECT_TRUE(std::equal(kGcmSalt.begin(), kGcmSalt.end(), gcm->salt().begin(), gcm->salt().end()));

  // Wrong profile length, MKI, bad base64, missing prefix.
  EXPECT_FALSE(ParseSdesInlineKey(SrtpProfile::kAeadAes128Gcm,
                                  "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm")
                   .ok());
  EXPECT_FALSE(ParseSdesInlineKey(SrtpProfile::kAesCm128HmacSha1_80,
                                  "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm|2^20|1:4")
                   .ok());
  EXPECT_FALSE(ParseSdesInlineKey(SrtpProfile::kAesCm128HmacSha1_80,
                                  "inline:4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqv*")
                   .ok());
  EXPECT_FALSE(ParseSdesInlineKey(SrtpProfile::kAesCm128HmacSha1_80,
                                  "4fl6DT4Bi+DWT6MsBt5BOQ7Gda1Jiv7rtpYLOqvm")
                   .ok());
}

}  // namespace
}  // namespace parley::rtp
