// RFC 8285 header extension blocks, in either form (chosen by the first input byte):
// validation and iteration must stay inside the block, and the elements found must be
// written back and found again unchanged.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "parley/rtp/rtp_packet.h"

namespace {

void Check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace parley::rtp;
  if (size < 1) return 0;
  const ExtensionForm form = (data[0] & 1) ? ExtensionForm::kTwoByte : ExtensionForm::kOneByte;
  const std::vector<uint8_t> block(data + 1, data + size);
  const bool valid = ValidateHeaderExtensions(form, block, 16).ok();
  std::vector<HeaderExtension> elements;
  for (const HeaderExtension& e : HeaderExtensionRange(form, block)) {
    Check(e.data.data() >= block.data() &&
          e.data.data() + e.data.size() <= block.data() + block.size());
    Check(e.id >= 1 && e.id <= (form == ExtensionForm::kOneByte ? 14 : 255));
    elements.push_back(e);
  }
  if (!valid) return 0;
  const std::vector<uint8_t> buffer(HeaderExtensionBlockSize(form, elements));
  std::vector<uint8_t> out = buffer;
  parley::Result<size_t> written = WriteHeaderExtensionBlock(form, elements, out);
  Check(written.ok() && *written == out.size());
  const std::span<const uint8_t> body = std::span<const uint8_t>(out).subspan(4);
  Check(ValidateHeaderExtensions(form, body).ok());
  size_t index = 0;
  for (const HeaderExtension& e : HeaderExtensionRange(form, body)) {
    Check(index < elements.size() && e.id == elements[index].id &&
          std::equal(e.data.begin(), e.data.end(), elements[index].data.begin(),
                     elements[index].data.end()));
    ++index;
  }
  Check(index == elements.size());
  return 0;
}
