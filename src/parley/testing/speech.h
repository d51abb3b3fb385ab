// Speech for tests: phrases synthesized once with espeak-ng and kept in
// testdata/speech/ (see testdata/speech/README.md for how they were made).
#pragma once

#include <cstdint>
#include <vector>

namespace parley::testing {

// Number of speech samples available.
int SpeechCount();

// Speech sample `index` (0..SpeechCount()-1), mono, resampled to `sample_rate_hz`.
// Aborts the test program with a message if the file is missing: a test must never
// pass because its input was absent.
std::vector<int16_t> Speech(int sample_rate_hz, int index = 0);

}  // namespace parley::testing
