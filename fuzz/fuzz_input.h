// The sequence fuzzers' reader of their input: integers and byte runs taken from the
// front, zeros once it is used up, so every input (of any length) is a valid program and
// the same input replays the same steps.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <span>

namespace parley::fuzz {

class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(data), size_(size) {}

  bool empty() const { return pos_ >= size_; }
  uint8_t Byte() { return empty() ? 0 : data_[pos_++]; }
  uint16_t U16() { return static_cast<uint16_t>(Byte() << 8 | Byte()); }
  uint32_t U32() { return static_cast<uint32_t>(U16()) << 16 | U16(); }
  // Up to `max` bytes: a length byte, then that many bytes (fewer at the end of the input).
  std::span<const uint8_t> Bytes(size_t max) {
    const size_t wanted = std::min<size_t>(Byte(), max);
    const size_t n = std::min(wanted, size_ - std::min(pos_, size_));
    const std::span<const uint8_t> out(data_ + pos_, n);
    pos_ += n;
    return out;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  size_t pos_ = 0;
};

// Runs one input as a program: `Harness(FuzzInput&)` reads its setup, `Run()` its steps.
template <typename Harness>
int RunProgram(const uint8_t* data, size_t size) {
  FuzzInput in(data, size);
  Harness harness(in);
  harness.Run();
  return 0;
}

// A property that failed: names it (the line and the condition) and aborts, which
// libFuzzer reports as a crash with the input that led there.
[[noreturn]] inline void Fail(const char* condition, int line) {
  std::fprintf(stderr, "fuzz property failed at line %d: %s\n", line, condition);
  std::abort();
}

}  // namespace parley::fuzz

#define FUZZ_CHECK(condition) \
  ((condition) ? static_cast<void>(0) : ::parley::fuzz::Fail(#condition, __LINE__))
