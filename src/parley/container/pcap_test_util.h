// Builders of capture files for the pcap and RTP capture tests: frames assembled byte by
// byte (Ethernet, VLAN, Linux cooked v1/v2, BSD loopback, IPv4, IPv6, UDP, RTP) and a
// classic pcap file around them. Test-only.
#pragma once

#include <array>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <span>
#include <string>
#include <vector>

namespace parley::container::testing {

using Bytes = std::vector<uint8_t>;

inline void Put16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v >> 8));
  b.push_back(static_cast<uint8_t>(v));
}
inline void Put32(Bytes& b, uint32_t v) {
  Put16(b, static_cast<uint16_t>(v >> 16));
  Put16(b, static_cast<uint16_t>(v));
}
inline void PutLe16(Bytes& b, uint16_t v) {
  b.push_back(static_cast<uint8_t>(v));
  b.push_back(static_cast<uint8_t>(v >> 8));
}
inline void PutLe32(Bytes& b, uint32_t v) {
  PutLe16(b, static_cast<uint16_t>(v));
  PutLe16(b, static_cast<uint16_t>(v >> 16));
}
inline void Append(Bytes& b, std::span<const uint8_t> more) {
  b.insert(b.end(), more.begin(), more.end());
}

inline Bytes Rtp(uint8_t payload_type, uint16_t sequence, uint32_t timestamp, uint32_t ssrc,
                 std::span<const uint8_t> payload, bool marker = false) {
  Bytes b = {0x80, static_cast<uint8_t>((marker ? 0x80 : 0) | payload_type)};
  Put16(b, sequence);
  Put32(b, timestamp);
  Put32(b, ssrc);
  Append(b, payload);
  return b;
}

inline Bytes Udp(uint16_t source_port, uint16_t destination_port,
                 std::span<const uint8_t> payload) {
  Bytes b;
  Put16(b, source_port);
  Put16(b, destination_port);
  Put16(b, static_cast<uint16_t>(8 + payload.size()));
  Put16(b, 0);  // checksum: optional over IPv4, not checked by the reader
  Append(b, payload);
  return b;
}

// flags_fragment: the 16 bits of flags (MF 0x2000) and fragment offset.
inline Bytes Ipv4(std::array<uint8_t, 4> source, std::array<uint8_t, 4> destination,
                  uint8_t protocol, std::span<const uint8_t> payload, uint16_t flags_fragment = 0) {
  Bytes b = {0x45, 0};
  Put16(b, static_cast<uint16_t>(20 + payload.size()));
  Put16(b, 0x1234);
  Put16(b, flags_fragment);
  b.push_back(64);
  b.push_back(protocol);
  Put16(b, 0);
  b.insert(b.end(), source.begin(), source.end());
  b.insert(b.end(), destination.begin(), destination.end());
  Append(b, payload);
  return b;
}

// `payload` starts with any extension headers; `next` is the first next-header value.
inline Bytes Ipv6(std::array<uint8_t, 16> source, std::array<uint8_t, 16> destination, uint8_t next,
                  std::span<const uint8_t> payload) {
  Bytes b = {0x60, 0, 0, 0};
  Put16(b, static_cast<uint16_t>(payload.size()));
  b.push_back(next);
  b.push_back(64);
  b.insert(b.end(), source.begin(), source.end());
  b.insert(b.end(), destination.begin(), destination.end());
  Append(b, payload);
  return b;
}

// An 8-byte IPv6 extension header (hop-by-hop / destination options: length 0).
inline Bytes Ipv6Options(uint8_t next) { return Bytes{next, 0, 1, 4, 0, 0, 0, 0}; }

inline Bytes Ethernet(uint16_t ether_type, std::span<const uint8_t> payload,
                      std::vector<uint16_t> vlan_tpids = {}) {
  Bytes b = {0x02, 0, 0, 0, 0, 1, 0x02, 0, 0, 0, 0, 2};
  for (uint16_t tpid : vlan_tpids) {
    Put16(b, tpid);
    Put16(b, 100);  // TCI: VLAN 100
  }
  Put16(b, ether_type);
  Append(b, payload);
  return b;
}

inline Bytes LinuxSll(uint16_t protocol, std::span<const uint8_t> payload) {
  Bytes b;
  Put16(b, 0);  // incoming
  Put16(b, 1);  // ARPHRD_ETHER
  Put16(b, 6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(i));
  Put16(b, protocol);
  Append(b, payload);
  return b;
}

inline Bytes LinuxSll2(uint16_t protocol, std::span<const uint8_t> payload) {
  Bytes b;
  Put16(b, protocol);
  Put16(b, 0);
  Put32(b, 3);  // ifindex
  Put16(b, 1);  // ARPHRD_ETHER
  b.push_back(0);
  b.push_back(6);
  for (int i = 0; i < 8; ++i) b.push_back(static_cast<uint8_t>(i));
  Append(b, payload);
  return b;
}

// BSD loopback header: family little-endian (DLT_NULL on x86) or big-endian (DLT_LOOP).
inline Bytes Loopback(uint32_t family, bool big_endian, std::span<const uint8_t> payload) {
  Bytes b;
  if (big_endian) {
    Put32(b, family);
  } else {
    PutLe32(b, family);
  }
  Append(b, payload);
  return b;
}

struct PcapRecord {
  Bytes frame;
  int64_t time_us = 0;
  uint32_t original_length = 0;  // 0: frame.size() (not cut by a snapshot length)
};

// A classic little-endian microsecond pcap file.
inline Bytes PcapFile(int link_type, const std::vector<PcapRecord>& records) {
  Bytes b;
  PutLe32(b, 0xA1B2C3D4);
  PutLe16(b, 2);
  PutLe16(b, 4);
  PutLe32(b, 0);
  PutLe32(b, 0);
  PutLe32(b, 262144);
  PutLe32(b, static_cast<uint32_t>(link_type));
  for (const PcapRecord& r : records) {
    PutLe32(b, static_cast<uint32_t>(r.time_us / 1'000'000));
    PutLe32(b, static_cast<uint32_t>(r.time_us % 1'000'000));
    PutLe32(b, static_cast<uint32_t>(r.frame.size()));
    PutLe32(b, r.original_length != 0 ? r.original_length : static_cast<uint32_t>(r.frame.size()));
    Append(b, r.frame);
  }
  return b;
}

inline void WriteFile(const std::string& path, std::span<const uint8_t> bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
}

inline constexpr std::array<uint8_t, 4> kHostA = {192, 0, 2, 1};
inline constexpr std::array<uint8_t, 4> kHostB = {198, 51, 100, 7};
inline constexpr std::array<uint8_t, 16> kHostA6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                                    0,    0,    0,    0,    0, 0, 0, 1};
inline constexpr std::array<uint8_t, 16> kHostB6 = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
                                                    0,    0,    0,    0,    0, 0, 0, 2};

// Ethernet / IPv4 / UDP from A:4000 to B:5004.
inline Bytes EthernetUdp(std::span<const uint8_t> payload, uint16_t source_port = 4000,
                         uint16_t destination_port = 5004) {
  return Ethernet(0x0800, Ipv4(kHostA, kHostB, 17, Udp(source_port, destination_port, payload)));
}

}  // namespace parley::container::testing
