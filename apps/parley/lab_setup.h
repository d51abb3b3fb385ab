// Turns `parley lab` arguments into a lab run (shared by the lab and demo commands).
#pragma once

#include "commands.h"
#include "parley/base/result.h"
#include "parley/lab/lab_run.h"

namespace parley::app {

// Reads the input (WAV, trace or packet log) and resolves profile, codec and network.
// Errors are one line naming the file, line or field.
Result<lab::LabRunConfig> MakeLabRunConfig(const LabArgs& args);

// What the report table's columns mean.
inline constexpr const char* kLabLegend =
    "delay: send -> playout (mean, p95); conceal: concealed share of played audio; events: "
    "concealment runs;\nlate: packets dropped as too late; fec: packets recovered from "
    "redundancy;\nstretch: audio inserted/removed by time stretching; "
    "interrupt: concealment runs >= 150 ms (count/seconds);\nzeros: hard zeros played; E-MOS: "
    "a network-level estimate (ITU-T G.107 E-model from delay and concealed loss: deaf to how "
    "concealment and stretching sound);\nsegSNR, LSD: against the loss-free decode (higher / "
    "lower is better); PESQ-WB, PESQ-NB (--pesq): ITU-T P.862.2 / P.862 scores\nof what was "
    "heard against the sender's input.";

}  // namespace parley::app
