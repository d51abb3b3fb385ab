#include "parley/testing/files.h"

#include <unistd.h>

#include <filesystem>

namespace parley::testing {

std::string TempPath(std::string_view name) {
  return (std::filesystem::temp_directory_path() /
          ("parley_" + std::string(name) + "_" + std::to_string(::getpid())))
      .string();
}

}  // namespace parley::testing
