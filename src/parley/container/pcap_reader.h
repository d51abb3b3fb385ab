// Offline capture reading (libpcap): the UDP datagrams of a pcap or pcapng file, with
// their capture time and addresses, as a network analyser sees them.
//
// Link types: Ethernet (DLT_EN10MB, with any number of 802.1Q / 802.1ad VLAN tags up to
// kMaxVlanTags), Linux cooked v1 and v2 (DLT_LINUX_SLL, DLT_LINUX_SLL2), raw IP (DLT_RAW,
// DLT_IPV4, DLT_IPV6), BSD loopback (DLT_NULL in the capturing host's byte order,
// DLT_LOOP in network order). Any other link type is refused at Open().
//
// Network layer: IPv4 and IPv6. IP fragments are not reassembled: they are skipped and
// counted. IPv6 extension headers parley understands (hop-by-hop, routing, destination
// options, fragment with offset 0 and no more fragments, authentication) are skipped;
// any other (ESP, mobility, unknown) ends the frame and is counted. Only UDP is returned.
//
// Bad input never throws: every frame that is not a whole UDP datagram is counted by
// reason in PcapStats, and the first few are described with the frame index and byte
// offset. A capture cut off inside a record (tcpdump killed) ends the reading there: the
// records before it are returned and stats().read_error says where it stopped.
//
// Threading: a reader is used by one thread at a time.
#pragma once

#include <array>
#include <chrono>
#include <compare>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "parley/base/result.h"

struct pcap;

namespace parley::container {

// Tags of 802.1Q / 802.1ad / QinQ followed before the frame counts as malformed.
inline constexpr int kMaxVlanTags = 4;
// Malformed frames described in PcapStats::warnings (the rest are only counted).
inline constexpr size_t kMaxPcapWarnings = 10;

// An IPv4 or IPv6 address (IPv4 in the first 4 bytes).
struct IpAddress {
  bool v6 = false;
  std::array<uint8_t, 16> bytes{};

  // "192.0.2.1" or "2001:db8::1".
  std::string ToString() const;
  auto operator<=>(const IpAddress&) const = default;
};

struct UdpEndpoint {
  IpAddress address;
  uint16_t port = 0;

  // "192.0.2.1:5004" or "[2001:db8::1]:5004".
  std::string ToString() const;
  auto operator<=>(const UdpEndpoint&) const = default;
};

// One UDP datagram of the capture.
struct UdpDatagram {
  int64_t frame_index = 0;  // 0-based record number in the file
  // Capture time since the Unix epoch (the file's resolution, micro- or nanoseconds).
  std::chrono::nanoseconds timestamp{0};
  UdpEndpoint source;
  UdpEndpoint destination;
  std::span<const uint8_t> payload;  // valid until the next Next()
};

// What the reader made of the records, by reason.
struct PcapStats {
  int64_t frames = 0;                      // records read
  int64_t udp_datagrams = 0;               // returned by Next()
  int64_t not_ip = 0;                      // ARP, LLDP, other ethertypes or address families
  int64_t not_udp = 0;                     // TCP, ICMP, ... (also IPv6 "no next header")
  int64_t ip_fragments = 0;                // IPv4 or IPv6 fragments (not reassembled)
  int64_t ipv6_unsupported_extension = 0;  // ESP, mobility, unknown next headers
  int64_t truncated = 0;                   // the record was cut by the snapshot length
  int64_t malformed = 0;                   // a header field that cannot be right (length, version)
  // The first kMaxPcapWarnings malformed or truncated frames, each named by frame index
  // and byte offset ("cap.pcap frame 7: IPv4 header length 16 bytes < 20 at offset 14").
  std::vector<std::string> warnings;
  // Set when reading stopped early on a damaged file (truncated record); empty otherwise.
  std::string read_error;
};

class PcapReader {
 public:
  // Opens a pcap or pcapng file. Error naming the file for a missing file, a file that is
  // not a capture, or an unsupported link type.
  [[nodiscard]] static Result<std::unique_ptr<PcapReader>> Open(const std::string& path);
  // Reads from `file` (which the reader closes, also on error), for in-memory captures
  // through fmemopen. `name` appears in messages.
  [[nodiscard]] static Result<std::unique_ptr<PcapReader>> Open(FILE* file, std::string name);
  ~PcapReader();
  PcapReader(const PcapReader&) = delete;
  PcapReader& operator=(const PcapReader&) = delete;

  // The next UDP datagram, skipping (and counting) every other frame; nullopt at the end
  // of the capture or where a damaged file stops (see PcapStats::read_error).
  [[nodiscard]] std::optional<UdpDatagram> Next();

  // DLT_* value of the capture.
  int link_type() const { return link_type_; }
  const std::string& name() const { return name_; }
  const PcapStats& stats() const { return stats_; }

 private:
  PcapReader(std::string name, pcap* handle, int link_type);
  // Parses one record; fills `out` and returns true for a UDP datagram.
  bool ParseFrame(std::span<const uint8_t> frame, bool snapped, UdpDatagram& out);
  bool ParseIpv4(std::span<const uint8_t> frame, size_t offset, bool snapped, UdpDatagram& out);
  bool ParseIpv6(std::span<const uint8_t> frame, size_t offset, bool snapped, UdpDatagram& out);
  bool ParseUdp(std::span<const uint8_t> frame, size_t offset, size_t end, bool snapped,
                UdpDatagram& out);
  // Counts a malformed (or, when `snapped`, truncated) frame and keeps its description.
  bool Reject(bool snapped, const std::string& what);

  // Passed by argument.
  std::string name_;
  // Allocated by this (pcap_close).
  pcap* handle_;
  // Others.
  int link_type_;
  int64_t frame_index_ = -1;
  PcapStats stats_;
};

}  // namespace parley::container
