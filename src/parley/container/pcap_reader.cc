#include "parley/container/pcap_reader.h"

#include <arpa/inet.h>
#include <fmt/format.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>
#include <utility>

namespace parley::container {
namespace {

constexpr uint16_t kEtherTypeIpv4 = 0x0800;
constexpr uint16_t kEtherTypeIpv6 = 0x86DD;
constexpr uint16_t kEtherTypeVlan = 0x8100;     // 802.1Q
constexpr uint16_t kEtherTypeQinQ = 0x88A8;     // 802.1ad
constexpr uint16_t kEtherTypeQinQOld = 0x9100;  // pre-standard QinQ
constexpr uint16_t kMinEtherType = 0x0600;      // below: an 802.3 length, not a type

constexpr size_t kEthernetHeaderBytes = 14;
constexpr size_t kVlanTagBytes = 4;
constexpr size_t kSllHeaderBytes = 16;
constexpr size_t kSll2HeaderBytes = 20;
constexpr size_t kNullHeaderBytes = 4;
constexpr size_t kIpv4MinHeaderBytes = 20;
constexpr size_t kIpv6HeaderBytes = 40;
constexpr size_t kUdpHeaderBytes = 8;

constexpr uint8_t kProtocolUdp = 17;
// IPv6 next headers.
constexpr uint8_t kIpv6HopByHop = 0;
constexpr uint8_t kIpv6Routing = 43;
constexpr uint8_t kIpv6Fragment = 44;
constexpr uint8_t kIpv6Esp = 50;
constexpr uint8_t kIpv6Auth = 51;
constexpr uint8_t kIpv6NoNextHeader = 59;
constexpr uint8_t kIpv6DestOptions = 60;
constexpr uint8_t kProtocolTcp = 6;
constexpr uint8_t kProtocolIcmpv6 = 58;
// Extension headers followed before the frame counts as malformed.
constexpr int kMaxIpv6ExtensionHeaders = 8;

// BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs by OS.
constexpr uint32_t kBsdAfInet = 2;
constexpr uint32_t kBsdAfInet6[] = {10, 24, 28, 30};  // Linux, NetBSD/OpenBSD, FreeBSD, macOS

// DLT_IPV4/DLT_IPV6 (LINKTYPE 228/229) are not defined by every libpcap header.
constexpr int kDltIpv4 = 228;
constexpr int kDltIpv6 = 229;

uint16_t Be16(std::span<const uint8_t> b, size_t at) {
  return static_cast<uint16_t>(b[at] << 8 | b[at + 1]);
}
uint32_t Be32(std::span<const uint8_t> b, size_t at) {
  return uint32_t{b[at]} << 24 | uint32_t{b[at + 1]} << 16 | uint32_t{b[at + 2]} << 8 | b[at + 3];
}

bool SupportedLinkType(int link_type) {
  switch (link_type) {
    case DLT_EN10MB:
    case DLT_LINUX_SLL:
    case DLT_LINUX_SLL2:
    case DLT_RAW:
    case kDltIpv4:
    case kDltIpv6:
    case DLT_NULL:
    case DLT_LOOP:
      return true;
    default:
      return false;
  }
}

}  // namespace

std::string IpAddress::ToString() const {
  char text[INET6_ADDRSTRLEN] = {};
  if (inet_ntop(v6 ? AF_INET6 : AF_INET, bytes.data(), text, sizeof text) == nullptr) return "?";
  return text;
}

std::string UdpEndpoint::ToString() const {
  return address.v6 ? fmt::format("[{}]:{}", address.ToString(), port)
                    : fmt::format("{}:{}", address.ToString(), port);
}

Result<std::unique_ptr<PcapReader>> PcapReader::Open(const std::string& path) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_open_offline(path.c_str(), error);
  if (handle == nullptr) return Error{fmt::format("'{}': {}", path, error)};
  const int link_type = pcap_datalink(handle);
  if (!SupportedLinkType(link_type)) {
    pcap_close(handle);
    const char* link_name = pcap_datalink_val_to_name(link_type);
    return Error{fmt::format("'{}': unsupported link type {} ({})", path, link_type,
                             link_name ? link_name : "unknown")};
  }
  return std::unique_ptr<PcapReader>(new PcapReader(path, handle, link_type));
}

Result<std::unique_ptr<PcapReader>> PcapReader::Open(FILE* file, std::string name) {
  char error[PCAP_ERRBUF_SIZE] = {};
  pcap_t* handle = pcap_fopen_offline(file, error);
  if (handle == nullptr) {
    std::fclose(file);  // libpcap leaves it open on failure; pcap_close() closes it otherwise
    return Error{fmt::format("'{}': {}", name, error)};
  }
  const int link_type = pcap_datalink(handle);
  if (!SupportedLinkType(link_type)) {
    pcap_close(handle);
    const char* link_name = pcap_datalink_val_to_name(link_type);
    return Error{fmt::format("'{}': unsupported link type {} ({})", name, link_type,
                             link_name ? link_name : "unknown")};
  }
  return std::unique_ptr<PcapReader>(new PcapReader(std::move(name), handle, link_type));
}

PcapReader::PcapReader(std::string name, pcap* handle, int link_type)
    : name_(std::move(name)), handle_(handle), link_type_(link_type) {}

PcapReader::~PcapReader() { pcap_close(handle_); }

std::optional<UdpDatagram> PcapReader::Next() {
  if (!stats_.read_error.empty()) return std::nullopt;
  for (;;) {
    pcap_pkthdr* header = nullptr;
    const u_char* data = nullptr;
    const int status = pcap_next_ex(handle_, &header, &data);
    if (status == PCAP_ERROR_BREAK) return std::nullopt;  // end of file
    if (status != 1) {
      stats_.read_error = fmt::format("'{}': reading stopped after frame {}: {}", name_,
                                      frame_index_, pcap_geterr(handle_));
      return std::nullopt;
    }
    ++frame_index_;
    ++stats_.frames;
    UdpDatagram datagram;
    datagram.frame_index = frame_index_;
    // pcap_next_ex gives microseconds, or nanoseconds for a nanosecond-precision file
    // opened as such; parley opens with the default (microsecond) precision.
    datagram.timestamp =
        std::chrono::seconds(header->ts.tv_sec) + std::chrono::microseconds(header->ts.tv_usec);
    const bool snapped = header->caplen < header->len;
    if (ParseFrame(std::span<const uint8_t>(data, header->caplen), snapped, datagram)) {
      ++stats_.udp_datagrams;
      return datagram;
    }
  }
}

bool PcapReader::Reject(bool snapped, const std::string& what) {
  if (snapped) {
    ++stats_.truncated;
  } else {
    ++stats_.malformed;
  }
  if (stats_.warnings.size() < kMaxPcapWarnings) {
    stats_.warnings.push_back(fmt::format("'{}' frame {}: {}{}", name_, frame_index_, what,
                                          snapped ? " (cut by the snapshot length)" : ""));
  }
  return false;
}

bool PcapReader::ParseFrame(std::span<const uint8_t> frame, bool snapped, UdpDatagram& out) {
  uint16_t ether_type = 0;
  size_t offset = 0;
  switch (link_type_) {
    case DLT_EN10MB: {
      // Ethernet II, then optional VLAN tags, each pushing the ethertype 4 bytes on:
      //
      //   +---------------+---------------+---------+ - - - - - - - - - - +--------
      //   | destination 6 |   source 6    | type 2  | TCI 2 | type 2 ...  | payload
      //   +---------------+---------------+---------+ - - - - - - - - - - +--------
      //    0               6               12        14 (when type is 0x8100/0x88A8)
      if (frame.size() < kEthernetHeaderBytes) {
        return Reject(snapped, fmt::format("Ethernet frame of {} bytes < {}", frame.size(),
                                           kEthernetHeaderBytes));
      }
      offset = 12;
      ether_type = Be16(frame, offset);
      int tags = 0;
      while (ether_type == kEtherTypeVlan || ether_type == kEtherTypeQinQ ||
             ether_type == kEtherTypeQinQOld) {
        if (++tags > kMaxVlanTags) {
          return Reject(false, fmt::format("more than {} VLAN tags", kMaxVlanTags));
        }
        offset += kVlanTagBytes;
        if (frame.size() < offset + 2) {
          return Reject(snapped, fmt::format("VLAN tag {} cut at offset {}", tags, offset - 2));
        }
        ether_type = Be16(frame, offset);
      }
      offset += 2;
      if (ether_type < kMinEtherType) {  // 802.3 length field: LLC, never IP here
        ++stats_.not_ip;
        return false;
      }
      break;
    }
    case DLT_LINUX_SLL: {
      // Linux cooked capture v1 (16 bytes):
      //
      //   +--------+--------+--------+----------------+----------+
      //   | pkttype| ARPHRD | addrlen| address (8)    | protocol |
      //   +--------+--------+--------+----------------+----------+
      //    0        2        4        6                14         16
      if (frame.size() < kSllHeaderBytes) {
        return Reject(snapped, fmt::format("Linux cooked header of {} bytes < {}", frame.size(),
                                           kSllHeaderBytes));
      }
      ether_type = Be16(frame, 14);
      offset = kSllHeaderBytes;
      break;
    }
    case DLT_LINUX_SLL2: {
      // Linux cooked capture v2 (20 bytes):
      //
      //   +----------+----------+---------+--------+-------+-------+-------------+
      //   | protocol | reserved | ifindex | ARPHRD |pkttype|addrlen| address (8) |
      //   +----------+----------+---------+--------+-------+-------+-------------+
      //    0          2          4         8        10      11      12            20
      if (frame.size() < kSll2HeaderBytes) {
        return Reject(snapped, fmt::format("Linux cooked v2 header of {} bytes < {}", frame.size(),
                                           kSll2HeaderBytes));
      }
      ether_type = Be16(frame, 0);
      offset = kSll2HeaderBytes;
      break;
    }
    case DLT_NULL:
    case DLT_LOOP: {
      // BSD loopback: a 4-byte address family, in the capturing host's byte order for
      // DLT_NULL (either order is accepted: families are small numbers) and in network
      // order for DLT_LOOP.
      if (frame.size() < kNullHeaderBytes) {
        return Reject(snapped, fmt::format("loopback header of {} bytes < {}", frame.size(),
                                           kNullHeaderBytes));
      }
      uint32_t family = Be32(frame, 0);
      if (link_type_ == DLT_NULL && family > 0xFFFF) family = __builtin_bswap32(family);
      offset = kNullHeaderBytes;
      if (family == kBsdAfInet) {
        ether_type = kEtherTypeIpv4;
      } else {
        for (uint32_t v6 : kBsdAfInet6) {
          if (family == v6) ether_type = kEtherTypeIpv6;
        }
      }
      if (ether_type == 0) {
        ++stats_.not_ip;
        return false;
      }
      break;
    }
    default: {  // DLT_RAW, DLT_IPV4, DLT_IPV6: the IP header first, its version says which
      if (frame.empty()) return Reject(snapped, "empty raw IP frame");
      const int version = frame[0] >> 4;
      if (version == 4) {
        ether_type = kEtherTypeIpv4;
      } else if (version == 6) {
        ether_type = kEtherTypeIpv6;
      } else {
        return Reject(false, fmt::format("raw IP version {} at offset 0", version));
      }
      break;
    }
  }
  if (ether_type == kEtherTypeIpv4) return ParseIpv4(frame, offset, snapped, out);
  if (ether_type == kEtherTypeIpv6) return ParseIpv6(frame, offset, snapped, out);
  ++stats_.not_ip;
  return false;
}

bool PcapReader::ParseIpv4(std::span<const uint8_t> frame, size_t offset, bool snapped,
                           UdpDatagram& out) {
  //    0                   1                   2                   3
  //    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
  //   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  //   |Version|  IHL  |    DSCP/ECN   |          Total Length         |  0
  //   |         Identification        |Flags|     Fragment Offset     |  4
  //   |  Time to Live |    Protocol   |         Header Checksum       |  8
  //   |                       Source Address                          | 12
  //   |                    Destination Address                        | 16
  //   |                    Options (IHL > 5)                          | 20
  //   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  if (frame.size() < offset + kIpv4MinHeaderBytes) {
    return Reject(snapped, fmt::format("IPv4 header cut: {} bytes at offset {} < {}",
                                       frame.size() - std::min(frame.size(), offset), offset,
                                       kIpv4MinHeaderBytes));
  }
  const auto ip = frame.subspan(offset);
  if ((ip[0] >> 4) != 4) {
    return Reject(false, fmt::format("IPv4 version {} at offset {}", ip[0] >> 4, offset));
  }
  const size_t header_bytes = size_t{ip[0] & 0x0Fu} * 4;
  if (header_bytes < kIpv4MinHeaderBytes) {
    return Reject(false, fmt::format("IPv4 header length {} bytes < {} at offset {}", header_bytes,
                                     kIpv4MinHeaderBytes, offset));
  }
  const size_t total_bytes = Be16(ip, 2);
  if (total_bytes < header_bytes) {
    return Reject(false, fmt::format("IPv4 total length {} < header length {} at offset {}",
                                     total_bytes, header_bytes, offset + 2));
  }
  if (total_bytes > ip.size()) {
    return Reject(snapped, fmt::format("IPv4 total length {} > {} bytes captured at offset {}",
                                       total_bytes, ip.size(), offset + 2));
  }
  const uint16_t flags_fragment = Be16(ip, 6);
  const bool more_fragments = (flags_fragment & 0x2000) != 0;
  if (more_fragments || (flags_fragment & 0x1FFF) != 0) {
    ++stats_.ip_fragments;
    return false;
  }
  if (ip[9] != kProtocolUdp) {
    ++stats_.not_udp;
    return false;
  }
  out.source.address.v6 = false;
  out.destination.address.v6 = false;
  std::memcpy(out.source.address.bytes.data(), ip.data() + 12, 4);
  std::memcpy(out.destination.address.bytes.data(), ip.data() + 16, 4);
  // The total length trims Ethernet padding after short datagrams.
  return ParseUdp(frame, offset + header_bytes, offset + total_bytes, snapped, out);
}

bool PcapReader::ParseIpv6(std::span<const uint8_t> frame, size_t offset, bool snapped,
                           UdpDatagram& out) {
  //    0                   1                   2                   3
  //    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
  //   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  //   |Version| Traffic Class |           Flow Label                  |  0
  //   |         Payload Length        |  Next Header  |   Hop Limit   |  4
  //   |                 Source Address (16 bytes)                     |  8
  //   |              Destination Address (16 bytes)                   | 24
  //   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  //   extension headers:  | Next Header | Hdr Ext Len | ...  (40)
  //   (hop-by-hop, routing, destination options: (len + 1) * 8 bytes; authentication:
  //   (len + 2) * 4 bytes; fragment: 8 bytes, offset in bits 0..12 of bytes 2..3, M bit 0)
  if (frame.size() < offset + kIpv6HeaderBytes) {
    return Reject(snapped, fmt::format("IPv6 header cut: {} bytes at offset {} < {}",
                                       frame.size() - std::min(frame.size(), offset), offset,
                                       kIpv6HeaderBytes));
  }
  const auto ip = frame.subspan(offset);
  if ((ip[0] >> 4) != 6) {
    return Reject(false, fmt::format("IPv6 version {} at offset {}", ip[0] >> 4, offset));
  }
  const size_t payload_bytes = Be16(ip, 4);
  const size_t end = offset + kIpv6HeaderBytes + payload_bytes;
  if (payload_bytes == 0) {
    return Reject(false, fmt::format("IPv6 payload length 0 (jumbogram) at offset {}", offset + 4));
  }
  if (end > frame.size()) {
    return Reject(snapped,
                  fmt::format("IPv6 payload length {} > {} bytes captured at offset {}",
                              payload_bytes, frame.size() - offset - kIpv6HeaderBytes, offset + 4));
  }
  out.source.address.v6 = true;
  out.destination.address.v6 = true;
  std::memcpy(out.source.address.bytes.data(), ip.data() + 8, 16);
  std::memcpy(out.destination.address.bytes.data(), ip.data() + 24, 16);

  uint8_t next = ip[6];
  size_t at = offset + kIpv6HeaderBytes;
  for (int i = 0; i <= kMaxIpv6ExtensionHeaders; ++i) {
    switch (next) {
      case kProtocolUdp:
        return ParseUdp(frame, at, end, snapped, out);
      case kIpv6HopByHop:
      case kIpv6Routing:
      case kIpv6DestOptions:
      case kIpv6Auth:
      case kIpv6Fragment: {
        if (at + 8 > end) {
          return Reject(false, fmt::format("IPv6 extension header {} cut at offset {}", next, at));
        }
        if (next == kIpv6Fragment) {
          const uint16_t offset_flags = Be16(frame, at + 2);
          if ((offset_flags & 0xFFF8) != 0 || (offset_flags & 0x1) != 0) {
            ++stats_.ip_fragments;
            return false;
          }
        }
        const size_t length = next == kIpv6Fragment ? 8
                              : next == kIpv6Auth   ? (size_t{frame[at + 1]} + 2) * 4
                                                    : (size_t{frame[at + 1]} + 1) * 8;
        next = frame[at];
        at += length;
        if (at > end) {
          return Reject(false, fmt::format("IPv6 extension header of {} bytes ends at offset {} "
                                           "> payload end {}",
                                           length, at, end));
        }
        break;
      }
      case kProtocolTcp:
      case kProtocolIcmpv6:
      case kIpv6NoNextHeader:
        ++stats_.not_udp;
        return false;
      case kIpv6Esp:
      default:
        ++stats_.ipv6_unsupported_extension;
        return false;
    }
  }
  return Reject(false,
                fmt::format("more than {} IPv6 extension headers", kMaxIpv6ExtensionHeaders));
}

bool PcapReader::ParseUdp(std::span<const uint8_t> frame, size_t offset, size_t end, bool snapped,
                          UdpDatagram& out) {
  //    0                   1                   2                   3
  //    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
  //   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  //   |          Source Port          |       Destination Port        |  0
  //   |            Length             |           Checksum            |  4
  //   +-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+-+
  if (offset + kUdpHeaderBytes > end) {
    return Reject(false, fmt::format("UDP header cut: {} bytes at offset {} < {}",
                                     end - std::min(end, offset), offset, kUdpHeaderBytes));
  }
  const size_t length = Be16(frame, offset + 4);
  if (length < kUdpHeaderBytes || offset + length > end) {
    return Reject(snapped, fmt::format("UDP length {} does not fit {} bytes at offset {}", length,
                                       end - offset, offset + 4));
  }
  out.source.port = Be16(frame, offset);
  out.destination.port = Be16(frame, offset + 2);
  out.payload = frame.subspan(offset + kUdpHeaderBytes, length - kUdpHeaderBytes);
  return true;
}

}  // namespace parley::container
