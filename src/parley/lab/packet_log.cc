#include "parley/lab/packet_log.h"

#include <fmt/format.h>

#include <array>
#include <limits>

#include "parley/lab/csv.h"

namespace parley::lab {
namespace {

constexpr std::string_view kKind = "packet log";
constexpr std::array<std::string_view, 5> kColumns = {"seq", "rtp_ts", "send_ms", "arrival_ms",
                                                      "payload_hex"};
constexpr double kLostArrivalMs = -1.0;

int HexDigitValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

Status ParsePayload(int line, std::string_view hex, std::vector<uint8_t>& payload) {
  if (hex.size() % 2 != 0) {
    return csv::LineError(kKind, line,
                          fmt::format("payload_hex has an odd number of digits ({})", hex.size()));
  }
  payload.resize(hex.size() / 2);
  for (size_t i = 0; i < hex.size(); i += 2) {
    const int high = HexDigitValue(hex[i]);
    const int low = HexDigitValue(hex[i + 1]);
    if (high < 0 || low < 0) {
      const size_t bad = high < 0 ? i : i + 1;
      const unsigned char c = static_cast<unsigned char>(hex[bad]);
      const std::string shown =
          c >= 0x21 && c <= 0x7e ? fmt::format("'{}'", hex[bad]) : fmt::format("byte 0x{:02x}", c);
      return csv::LineError(
          kKind, line, fmt::format("payload_hex digit {} ({}) is not a hex digit", bad, shown));
    }
    payload[i / 2] = static_cast<uint8_t>(high * 16 + low);
  }
  return Status::Ok();
}

Result<LoggedPacket> ParsePacket(const csv::Record& record) {
  const std::vector<std::string_view>& fields = record.fields;
  LoggedPacket packet;

  const std::optional<int64_t> seq = csv::ParseInteger(fields[0]);
  if (!seq) {
    return csv::LineError(kKind, record.line, fmt::format("seq '{}' is not an integer", fields[0]));
  }
  packet.seq = *seq;

  const std::optional<int64_t> rtp_ts = csv::ParseInteger(fields[1]);
  if (!rtp_ts) {
    return csv::LineError(kKind, record.line,
                          fmt::format("rtp_ts '{}' is not an integer", fields[1]));
  }
  if (*rtp_ts < 0 || *rtp_ts > std::numeric_limits<uint32_t>::max()) {
    return csv::LineError(
        kKind, record.line,
        fmt::format("rtp_ts {} is out of 32-bit range (0..4294967295)", fields[1]));
  }
  packet.rtp_ts = static_cast<uint32_t>(*rtp_ts);

  Result<double> send_ms = csv::ParseMs(kKind, record.line, "send_ms", fields[2]);
  if (!send_ms) return send_ms.error();
  if (*send_ms < 0.0) {
    return csv::LineError(kKind, record.line, fmt::format("send_ms {} is negative", fields[2]));
  }
  packet.send_ms = *send_ms;

  Result<double> arrival_ms = csv::ParseMs(kKind, record.line, "arrival_ms", fields[3]);
  if (!arrival_ms) return arrival_ms.error();
  if (*arrival_ms < 0.0) {
    packet.arrival_ms = kLostArrivalMs;
  } else if (*arrival_ms < packet.send_ms) {
    return csv::LineError(kKind, record.line,
                          fmt::format("arrival_ms {} is before send_ms {} (a negative "
                                      "arrival_ms marks a lost packet)",
                                      fields[3], fields[2]));
  } else {
    packet.arrival_ms = *arrival_ms;
  }

  if (Status status = ParsePayload(record.line, fields[4], packet.payload); !status) {
    return status.error();
  }
  return packet;
}

}  // namespace

Result<std::vector<LoggedPacket>> ParsePacketLog(std::string_view text) {
  Result<std::vector<csv::Record>> records = csv::SplitRecords(text, kKind, kColumns);
  if (!records) return records.error();
  std::vector<LoggedPacket> packets;
  packets.reserve(records->size());
  for (const csv::Record& record : *records) {
    Result<LoggedPacket> packet = ParsePacket(record);
    if (!packet) return packet.error();
    packets.push_back(std::move(*packet));
  }
  return packets;
}

std::string FormatPacketLog(std::span<const LoggedPacket> packets) {
  static constexpr char kHexDigits[] = "0123456789abcdef";
  std::string text = csv::HeaderLine(kColumns);
  for (const LoggedPacket& packet : packets) {
    text += fmt::format("{},{},", packet.seq, packet.rtp_ts);
    csv::AppendNumber(text, packet.send_ms);
    text += ',';
    csv::AppendNumber(text, packet.lost() ? kLostArrivalMs : packet.arrival_ms);
    text += ',';
    for (uint8_t byte : packet.payload) {
      text += kHexDigits[byte >> 4];
      text += kHexDigits[byte & 0x0f];
    }
    text += '\n';
  }
  return text;
}

Result<std::vector<LoggedPacket>> ReadPacketLogFile(const std::string& path) {
  Result<std::string> text = csv::ReadWholeFile(path);
  if (!text) return text.error();
  Result<std::vector<LoggedPacket>> packets = ParsePacketLog(*text);
  if (!packets) return Error{fmt::format("{}: {}", path, packets.error().message)};
  return packets;
}

Status WritePacketLogFile(const std::string& path, std::span<const LoggedPacket> packets) {
  return csv::WriteFileAtomically(path, FormatPacketLog(packets));
}

}  // namespace parley::lab
