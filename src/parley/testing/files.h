// Temporary files for the unit tests. Not part of the library.
#pragma once

#include <string>
#include <string_view>

namespace parley::testing {

// A path in the system's temporary directory named after `name` and this process, so that
// concurrent test runs do not collide: <tmp>/parley_<name>_<pid>.
std::string TempPath(std::string_view name);

}  // namespace parley::testing
