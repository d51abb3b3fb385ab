// pcap reading and RTP stream detection: any bytes must never crash, hang or leak.
//
// Two shapes of input, chosen by the first byte's low bit:
// - even: the remaining bytes are a whole capture file (pcap or pcapng), opened in memory
//   through fmemopen + pcap_fopen_offline;
// - odd: the second byte picks a supported link type and the rest is cut into frames
//   (each preceded by a 1-byte length), wrapped here in a valid pcap file, so the frame
//   parsers (Ethernet/VLAN, Linux cooked, loopback, IPv4, IPv6, UDP) and RTP detection see
//   arbitrary frames without the fuzzer first having to find the file header.
#include <pcap/pcap.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <vector>

#include "parley/container/pcap_reader.h"
#include "parley/container/rtp_capture.h"

namespace {

constexpr int kLinkTypes[] = {DLT_EN10MB, DLT_LINUX_SLL, DLT_LINUX_SLL2, DLT_RAW,
                              DLT_NULL,   DLT_LOOP,      228 /* IPv4 */, 229 /* IPv6 */};

void PutLe32(std::vector<uint8_t>& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

std::vector<uint8_t> WrapFrames(const uint8_t* data, size_t size) {
  std::vector<uint8_t> file;
  const int link_type = kLinkTypes[data[0] % (sizeof kLinkTypes / sizeof kLinkTypes[0])];
  PutLe32(file, 0xA1B2C3D4);
  PutLe32(file, 0x00040002);  // version 2.4
  PutLe32(file, 0);
  PutLe32(file, 0);
  PutLe32(file, 65535);
  PutLe32(file, static_cast<uint32_t>(link_type));
  size_t at = 1;
  uint32_t time_us = 0;
  while (at < size) {
    const size_t length = std::min<size_t>(data[at], size - at - 1);
    ++at;
    time_us += 20'000;
    PutLe32(file, time_us / 1'000'000);
    PutLe32(file, time_us % 1'000'000);
    PutLe32(file, static_cast<uint32_t>(length));
    PutLe32(file, static_cast<uint32_t>(length));
    file.insert(file.end(), data + at, data + at + length);
    at += length;
  }
  return file;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::container;
  if (size < 2) return 0;
  std::vector<uint8_t> bytes = (data[0] & 1) == 0 ? std::vector<uint8_t>(data + 1, data + size)
                                                  : WrapFrames(data + 1, size - 1);
  FILE* file = fmemopen(bytes.data(), bytes.size(), "rb");
  if (file == nullptr) return 0;
  auto reader = PcapReader::Open(file, "fuzz");
  if (!reader) return 0;
  CaptureScan scan = FindRtpStreams(**reader);
  for (const RtpStreamInfo& stream : scan.streams) {
    (void)stream.CodecName();
    (void)stream.source.ToString();
    (void)stream.loss_fraction();
  }
  return 0;
}
