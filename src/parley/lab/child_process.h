// The outside programs the lab runs as tools (gnuplot for its plots, a P.862 scorer for
// perceptual scores): each as a child process started with posix_spawn and an argument
// vector, never through a shell, so that no argument (a path with spaces, quotes or `$`)
// is ever interpreted; and the private temporary directory each run works in.
//
// Threading: independent calls may run on different threads. RunChild blocks until the
// child exits: for reports, never on a media path.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "parley/base/result.h"

namespace parley::lab {

// How a child ended.
struct ChildExit {
  bool exited = false;  // false: ended by a signal
  int exit_code = -1;   // when exited
  int signal = 0;       // when not exited

  bool success() const { return exited && exit_code == 0; }
  // "exit status 2", "signal 11".
  std::string Describe() const;
};

// Runs `program` with `args` (argv[1..]) and waits for it. `program` with a '/' is run as
// given; a bare name is looked up on PATH. Its stdin reads /dev/null; its stdout goes to the
// file `stdout_path` (created or truncated) and its stderr to `stderr_path`, or into the
// same file when that is unset. Errors: the output files cannot be opened, the program is
// not found (the message ends "not found"), cannot be run (permission, not an
// executable), or waiting for it fails. A child that runs and fails is not an Error:
// its ChildExit says how it ended.
[[nodiscard]] Result<ChildExit> RunChild(
    const std::string& program, const std::vector<std::string>& args,
    const std::filesystem::path& stdout_path,
    const std::optional<std::filesystem::path>& stderr_path = {});

// True when `program` would be found and is executable: a path with a '/' is checked as
// given, a bare name on PATH (an empty PATH entry is the current directory).
bool ProgramAvailable(const std::string& program);

// The first `max_chars` of a text file written by a child, its lines joined with " | "
// (blank lines skipped): for error messages. Empty when the file is empty or unreadable.
std::string FileExcerpt(const std::filesystem::path& path, size_t max_chars);

// A directory created with mkdtemp (mode 0700) and removed with everything in it when the
// object goes out of scope. Movable, not copyable.
class TempDir {
 public:
  // A new directory named `prefix` + 6 random characters inside `parent`. Errors name the
  // parent and the reason.
  [[nodiscard]] static Result<TempDir> Create(const std::filesystem::path& parent,
                                              const std::string& prefix);
  ~TempDir();
  TempDir(TempDir&& other) noexcept;
  TempDir& operator=(TempDir&& other) noexcept;
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  explicit TempDir(std::filesystem::path path) : path_(std::move(path)) {}
  void Remove();

  std::filesystem::path path_;  // empty once moved from
};

}  // namespace parley::lab
