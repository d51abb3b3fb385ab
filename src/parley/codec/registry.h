// The codec registry: every codec parley carries, looked up by SDP name, static
// payload type, rtpmap or raw-file extension, and built through its factory.
#pragma once

#include <memory>
#include <span>
#include <string_view>

#include "parley/base/result.h"
#include "parley/codec/codec.h"

namespace parley::codec {

// Every codec, in a stable order (Opus first).
std::span<const CodecInfo> AllCodecs();

const CodecInfo& GetCodecInfo(CodecId id);

// Case-insensitive SDP encoding name ("opus", "pcmu", "G722"), plus the common
// aliases "ulaw"/"g711u", "alaw"/"g711a". nullptr when unknown.
const CodecInfo* FindCodecByName(std::string_view name);
// The codec owning a static RTP payload type (RFC 3551), e.g. 0 -> PCMU. nullptr otherwise.
const CodecInfo* FindCodecByStaticPayloadType(int payload_type);
// An SDP rtpmap value ("opus/48000/2", "PCMU/8000"); name, clock and channels must match.
const CodecInfo* FindCodecByRtpmap(std::string_view rtpmap);
// A raw stream file extension without the dot ("ul", "g722"). nullptr when unknown.
const CodecInfo* FindCodecByFileExtension(std::string_view extension);

// Builds an encoder or decoder, validating the configuration against the codec
// (rate, channels, frame duration, bitrate) with an error naming the bad field.
Result<std::unique_ptr<AudioEncoder>> CreateEncoder(const CodecInfo& codec,
                                                    const EncoderConfig& config);
Result<std::unique_ptr<AudioDecoder>> CreateDecoder(const CodecInfo& codec,
                                                    const DecoderConfig& config);

}  // namespace parley::codec
