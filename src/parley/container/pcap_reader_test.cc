#include "parley/container/pcap_reader.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <string>
#include <vector>

#include "parley/container/pcap_test_util.h"

namespace parley::container {
namespace {

using namespace testing;  // NOLINT: the builders

const Bytes kPayload = {'h', 'e', 'l', 'l', 'o'};

// Opens `file` from memory (fmemopen over a copy the test keeps alive).
std::unique_ptr<PcapReader> OpenBytes(const Bytes& file) {
  FILE* f = fmemopen(const_cast<uint8_t*>(file.data()), file.size(), "rb");
  EXPECT_NE(f, nullptr);
  auto reader = PcapReader::Open(f, "mem.pcap");
  EXPECT_TRUE(reader.ok()) << reader.error().message;
  return reader.ok() ? std::move(reader).value() : nullptr;
}

std::vector<UdpDatagram> ReadAll(PcapReader& reader, std::vector<Bytes>* payloads = nullptr) {
  std::vector<UdpDatagram> all;
  while (auto d = reader.Next()) {
    if (payloads) payloads->emplace_back(d->payload.begin(), d->payload.end());
    all.push_back(*d);
  }
  return all;
}

TEST(PcapReaderTest, EthernetIpv4UdpGivesAddressesPortsTimeAndPayload) {
  const Bytes file = PcapFile(DLT_EN10MB, {{EthernetUdp(kPayload), 1'700'000'000'123'456}});
  auto reader = OpenBytes(file);
  ASSERT_NE(reader, nullptr);
  EXPECT_EQ(reader->link_type(), DLT_EN10MB);
  std::vector<Bytes> payloads;
  auto all = ReadAll(*reader, &payloads);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].frame_index, 0);
  EXPECT_EQ(all[0].source.ToString(), "192.0.2.1:4000");
  EXPECT_EQ(all[0].destination.ToString(), "198.51.100.7:5004");
  EXPECT_EQ(all[0].timestamp, std::chrono::microseconds(1'700'000'000'123'456));
  EXPECT_EQ(payloads[0], kPayload);
  EXPECT_EQ(reader->stats().frames, 1);
  EXPECT_EQ(reader->stats().udp_datagrams, 1);
}

TEST(PcapReaderTest, EthernetPaddingAfterShortDatagramIsTrimmed) {
  Bytes frame = EthernetUdp(kPayload);
  frame.resize(60, 0);  // minimum Ethernet frame: padded
  auto reader = OpenBytes(PcapFile(DLT_EN10MB, {{frame}}));
  std::vector<Bytes> payloads;
  ASSERT_EQ(ReadAll(*reader, &payloads).size(), 1u);
  EXPECT_EQ(payloads[0], kPayload);
}

TEST(PcapReaderTest, VlanTagsAreSkipped) {
  const Bytes ip = Ipv4(kHostA, kHostB, 17, Udp(1, 2, kPayload));
  const Bytes file =
      PcapFile(DLT_EN10MB, {{Ethernet(0x0800, ip, {0x8100})},
                            {Ethernet(0x0800, ip, {0x88A8, 0x8100})},
                            {Ethernet(0x0800, ip, {0x8100, 0x8100, 0x8100, 0x8100, 0x8100})}});
  auto reader = OpenBytes(file);
  std::vector<Bytes> payloads;
  EXPECT_EQ(ReadAll(*reader, &payloads).size(), 2u);
  EXPECT_EQ(payloads[1], kPayload);
  EXPECT_EQ(reader->stats().malformed, 1);  // five tags: more than kMaxVlanTags
}

TEST(PcapReaderTest, LinuxCookedV1AndV2) {
  const Bytes ip = Ipv4(kHostA, kHostB, 17, Udp(7, 8, kPayload));
  for (int link : {DLT_LINUX_SLL, DLT_LINUX_SLL2}) {
    SCOPED_TRACE(link);
    const Bytes frame = link == DLT_LINUX_SLL ? LinuxSll(0x0800, ip) : LinuxSll2(0x0800, ip);
    auto reader = OpenBytes(PcapFile(
        link,
        {{frame},
         {link == DLT_LINUX_SLL ? LinuxSll(0x0806, Bytes(28)) : LinuxSll2(0x0806, Bytes(28))}}));
    std::vector<Bytes> payloads;
    auto all = ReadAll(*reader, &payloads);
    ASSERT_EQ(all.size(), 1u);
    EXPECT_EQ(all[0].source.port, 7);
    EXPECT_EQ(payloads[0], kPayload);
    EXPECT_EQ(reader->stats().not_ip, 1);  // ARP
  }
}

TEST(PcapReaderTest, RawIpv4AndIpv6) {
  const Bytes file = PcapFile(DLT_RAW, {{Ipv4(kHostA, kHostB, 17, Udp(1, 2, kPayload))},
                                        {Ipv6(kHostA6, kHostB6, 17, Udp(3, 4, kPayload))}});
  auto reader = OpenBytes(file);
  auto all = ReadAll(*reader);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[1].source.ToString(), "[2001:db8::1]:3");
  EXPECT_EQ(all[1].destination.ToString(), "[2001:db8::2]:4");
}

TEST(PcapReaderTest, BsdLoopbackNullInEitherByteOrderAndLoop) {
  const Bytes v4 = Ipv4(kHostA, kHostB, 17, Udp(1, 2, kPayload));
  const Bytes v6 = Ipv6(kHostA6, kHostB6, 17, Udp(1, 2, kPayload));
  auto null_reader = OpenBytes(PcapFile(DLT_NULL, {{Loopback(2, false, v4)},
                                                   {Loopback(30, false, v6)},
                                                   {Loopback(2, true, v4)},
                                                   {Loopback(7, false, v4)}}));
  EXPECT_EQ(ReadAll(*null_reader).size(), 3u);
  EXPECT_EQ(null_reader->stats().not_ip, 1);
  auto loop_reader =
      OpenBytes(PcapFile(DLT_LOOP, {{Loopback(2, true, v4)}, {Loopback(24, true, v6)}}));
  EXPECT_EQ(ReadAll(*loop_reader).size(), 2u);
}

TEST(PcapReaderTest, Ipv6ExtensionHeadersSkippedOrCounted) {
  Bytes hop_dest = Ipv6Options(60);  // hop-by-hop -> destination options -> UDP
  Append(hop_dest, Ipv6Options(17));
  Append(hop_dest, Udp(9, 10, kPayload));
  Bytes atomic_fragment = {17, 0, 0, 0, 0, 0, 0, 1};  // offset 0, M = 0: not a real fragment
  Append(atomic_fragment, Udp(9, 10, kPayload));
  Bytes esp = {0, 0, 0, 1, 0, 0, 0, 1};
  const Bytes file =
      PcapFile(DLT_EN10MB, {{Ethernet(0x86DD, Ipv6(kHostA6, kHostB6, 0, hop_dest))},
                            {Ethernet(0x86DD, Ipv6(kHostA6, kHostB6, 44, atomic_fragment))},
                            {Ethernet(0x86DD, Ipv6(kHostA6, kHostB6, 50, esp))},
                            {Ethernet(0x86DD, Ipv6(kHostA6, kHostB6, 6, esp))}});
  auto reader = OpenBytes(file);
  std::vector<Bytes> payloads;
  ASSERT_EQ(ReadAll(*reader, &payloads).size(), 2u);
  EXPECT_EQ(payloads[0], kPayload);
  EXPECT_EQ(reader->stats().ipv6_unsupported_extension, 1);
  EXPECT_EQ(reader->stats().not_udp, 1);
}

TEST(PcapReaderTest, FragmentsAreCountedNotReassembled) {
  const Bytes udp = Udp(1, 2, kPayload);
  Bytes v6_fragment = {17, 0, 0x00, 0x09, 0, 0, 0, 1};  // offset 1 (8 bytes), M = 1
  Append(v6_fragment, Bytes(16));
  const Bytes file =
      PcapFile(DLT_EN10MB, {{Ethernet(0x0800, Ipv4(kHostA, kHostB, 17, udp, 0x2000))},  // MF
                            {Ethernet(0x0800, Ipv4(kHostA, kHostB, 17, Bytes(8), 0x0003))},
                            {Ethernet(0x86DD, Ipv6(kHostA6, kHostB6, 44, v6_fragment))},
                            {Ethernet(0x0800, Ipv4(kHostA, kHostB, 17, udp, 0x4000))}});  // DF
  auto reader = OpenBytes(file);
  EXPECT_EQ(ReadAll(*reader).size(), 1u);
  EXPECT_EQ(reader->stats().ip_fragments, 3);
}

TEST(PcapReaderTest, NonUdpAndNonIpCounted) {
  const Bytes file = PcapFile(DLT_EN10MB, {{Ethernet(0x0800, Ipv4(kHostA, kHostB, 6, Bytes(20)))},
                                           {Ethernet(0x0806, Bytes(28))},
                                           {Ethernet(0x0020, Bytes(40))},  // 802.3 length
                                           {EthernetUdp(kPayload)}});
  auto reader = OpenBytes(file);
  EXPECT_EQ(ReadAll(*reader).size(), 1u);
  EXPECT_EQ(reader->stats().not_udp, 1);
  EXPECT_EQ(reader->stats().not_ip, 2);
}

TEST(PcapReaderTest, MalformedFramesCountedWithFrameIndexAndOffset) {
  Bytes bad_ihl = EthernetUdp(kPayload);
  bad_ihl[14] = 0x44;  // IHL 4 words
  Bytes bad_udp_length = EthernetUdp(kPayload);
  bad_udp_length[14 + 20 + 5] = 200;  // UDP length 200 > datagram
  Bytes snapped = EthernetUdp(Bytes(100));
  const uint32_t original = static_cast<uint32_t>(snapped.size());
  snapped.resize(40);
  const Bytes file = PcapFile(
      DLT_EN10MB,
      {{EthernetUdp(kPayload)}, {bad_ihl}, {bad_udp_length}, {snapped, 0, original}, {Bytes(5)}});
  auto reader = OpenBytes(file);
  EXPECT_EQ(ReadAll(*reader).size(), 1u);
  const PcapStats& stats = reader->stats();
  EXPECT_EQ(stats.malformed, 3);
  EXPECT_EQ(stats.truncated, 1);
  ASSERT_EQ(stats.warnings.size(), 4u);
  EXPECT_EQ(stats.warnings[0], "'mem.pcap' frame 1: IPv4 header length 16 bytes < 20 at offset 14");
  EXPECT_NE(stats.warnings[1].find("frame 2: UDP length 200"), std::string::npos)
      << stats.warnings[1];
  EXPECT_NE(stats.warnings[2].find("frame 3"), std::string::npos) << stats.warnings[2];
  EXPECT_NE(stats.warnings[2].find("snapshot length"), std::string::npos) << stats.warnings[2];
}

TEST(PcapReaderTest, CaptureCutInsideARecordStopsThereWithReadError) {
  Bytes file = PcapFile(DLT_EN10MB, {{EthernetUdp(kPayload)}, {EthernetUdp(kPayload)}});
  file.erase(file.end() - 10, file.end());  // the second record cut
  auto reader = OpenBytes(file);
  EXPECT_EQ(ReadAll(*reader).size(), 1u);
  EXPECT_NE(reader->stats().read_error.find("'mem.pcap': reading stopped after frame 0"),
            std::string::npos)
      << reader->stats().read_error;
  EXPECT_FALSE(reader->Next().has_value());
}

TEST(PcapReaderTest, UnsupportedLinkTypeAndNonCaptureRejectedNamingTheFile) {
  const Bytes wifi = PcapFile(DLT_IEEE802_11, {});
  FILE* f = fmemopen(const_cast<uint8_t*>(wifi.data()), wifi.size(), "rb");
  auto reader = PcapReader::Open(f, "wifi.pcap");
  ASSERT_FALSE(reader.ok());
  EXPECT_NE(reader.error().message.find("'wifi.pcap': unsupported link type 105"),
            std::string::npos)
      << reader.error().message;

  auto missing = PcapReader::Open("/nonexistent/x.pcap");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("'/nonexistent/x.pcap'"), std::string::npos);

  const Bytes text = {'n', 'o', 't', ' ', 'a', ' ', 'p', 'c', 'a', 'p', ' ', 'f', 'i', 'l',
                      'e', '!', '!', '!', '!', '!', '!', '!', '!', '!', '!', '!', '!', '!'};
  FILE* g = fmemopen(const_cast<uint8_t*>(text.data()), text.size(), "rb");
  EXPECT_FALSE(PcapReader::Open(g, "text.pcap").ok());
}

TEST(PcapReaderTest, ReadsAPcapDumpWrittenByLibpcap) {
  // pcap_dump (libpcap's own writer), then read back: the file format is libpcap's.
  const std::string path = ::testing::TempDir() + "pcap_reader_dump.pcap";
  pcap_t* dead = pcap_open_dead(DLT_LINUX_SLL2, 65535);
  pcap_dumper_t* dumper = pcap_dump_open(dead, path.c_str());
  ASSERT_NE(dumper, nullptr);
  const Bytes frame = LinuxSll2(0x86DD, Ipv6(kHostA6, kHostB6, 17, Udp(5, 6, kPayload)));
  pcap_pkthdr header{};
  header.ts.tv_sec = 12;
  header.ts.tv_usec = 345;
  header.caplen = header.len = static_cast<bpf_u_int32>(frame.size());
  pcap_dump(reinterpret_cast<u_char*>(dumper), &header, frame.data());
  pcap_dump_close(dumper);
  pcap_close(dead);
  auto reader = PcapReader::Open(path);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  auto all = ReadAll(**reader);
  ASSERT_EQ(all.size(), 1u);
  EXPECT_EQ(all[0].timestamp, std::chrono::microseconds(12'000'345));
  EXPECT_EQ(all[0].destination.port, 6);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace parley::container
