// Trace files come from users and other tools: ParseTrace must never crash, and whatever
// it accepts must be written back to text that parses again to the same fates (same seqs,
// same losses and duplicates), the second write byte for byte equal to the first.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "parley/lab/trace.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::lab;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  parley::Result<std::vector<TraceEntry>> parsed = ParseTrace(text);
  if (!parsed) {
    Check(!parsed.error().message.empty());
    return 0;
  }
  const std::string written = FormatTrace(*parsed);
  parley::Result<std::vector<TraceEntry>> again = ParseTrace(written);
  Check(again.ok() && again->size() == parsed->size());
  for (size_t i = 0; i < parsed->size(); ++i) {
    Check((*again)[i].seq == (*parsed)[i].seq);
    Check((*again)[i].lost() == (*parsed)[i].lost());
  }
  Check(FormatTrace(*again) == written);
  return 0;
}
