#include "parley/lab/child_process.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <system_error>

extern char** environ;

namespace parley::lab {
namespace {

namespace fs = std::filesystem;

// Opens `path` for the child's output before it starts, so that a place the parent cannot
// write is reported as such rather than as a child that failed.
Status CheckWritable(const fs::path& path) {
  const int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return Error{fmt::format("cannot write {}: {}", path.string(), std::strerror(errno))};
  close(fd);
  return Status::Ok();
}

}  // namespace

std::string ChildExit::Describe() const {
  return exited ? fmt::format("exit status {}", exit_code) : fmt::format("signal {}", signal);
}

Result<ChildExit> RunChild(const std::string& program, const std::vector<std::string>& args,
                           const fs::path& stdout_path,
                           const std::optional<fs::path>& stderr_path) {
  if (Status s = CheckWritable(stdout_path); !s.ok()) return s.error();
  if (stderr_path) {
    if (Status s = CheckWritable(*stderr_path); !s.ok()) return s.error();
  }
  posix_spawn_file_actions_t actions;
  if (posix_spawn_file_actions_init(&actions) != 0) {
    return Error{"posix_spawn_file_actions_init failed"};
  }
  const std::string out = stdout_path.string();
  const std::string err = stderr_path ? stderr_path->string() : std::string();
  posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out.c_str(),
                                   O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (stderr_path) {
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, err.c_str(),
                                     O_WRONLY | O_CREAT | O_TRUNC, 0600);
  } else {
    posix_spawn_file_actions_adddup2(&actions, STDOUT_FILENO, STDERR_FILENO);
  }

  std::vector<std::string> owned;
  owned.reserve(args.size() + 1);
  owned.push_back(program);
  owned.insert(owned.end(), args.begin(), args.end());
  std::vector<char*> argv;
  argv.reserve(owned.size() + 1);
  for (std::string& arg : owned) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t pid = 0;
  const int spawn_error =
      posix_spawnp(&pid, program.c_str(), &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error == ENOENT) return Error{fmt::format("{} not found", program)};
  if (spawn_error != 0) {
    return Error{fmt::format("cannot run {}: {}", program, std::strerror(spawn_error))};
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      return Error{fmt::format("waiting for {} failed: {}", program, std::strerror(errno))};
    }
  }
  ChildExit result;
  result.exited = WIFEXITED(status);
  if (result.exited) result.exit_code = WEXITSTATUS(status);
  if (WIFSIGNALED(status)) result.signal = WTERMSIG(status);
  return result;
}

bool ProgramAvailable(const std::string& program) {
  if (program.empty()) return false;
  const auto executable = [](const fs::path& candidate) {
    std::error_code ec;
    return fs::is_regular_file(candidate, ec) && access(candidate.c_str(), X_OK) == 0;
  };
  if (program.find('/') != std::string::npos) return executable(program);
  const char* path_env = std::getenv("PATH");
  const std::string path = path_env != nullptr ? path_env : "/usr/bin:/bin";
  size_t begin = 0;
  while (begin <= path.size()) {
    size_t end = path.find(':', begin);
    if (end == std::string::npos) end = path.size();
    // An empty PATH entry means the current directory.
    const std::string dir = end > begin ? path.substr(begin, end - begin) : ".";
    if (executable(fs::path(dir) / program)) return true;
    begin = end + 1;
  }
  return false;
}

std::string FileExcerpt(const fs::path& path, size_t max_chars) {
  std::ifstream file(path);
  std::string line;
  std::string text;
  while (std::getline(file, line) && text.size() < max_chars) {
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!text.empty()) text += " | ";
    text += line;
  }
  if (text.size() > max_chars) text.resize(max_chars);
  return text;
}

Result<TempDir> TempDir::Create(const fs::path& parent, const std::string& prefix) {
  std::string pattern = (parent / (prefix + "XXXXXX")).string();
  if (mkdtemp(pattern.data()) == nullptr) {
    return Error{fmt::format("cannot create a temporary directory in {}: {}", parent.string(),
                             std::strerror(errno))};
  }
  return TempDir(fs::path(pattern));
}

TempDir::~TempDir() { Remove(); }

TempDir::TempDir(TempDir&& other) noexcept : path_(std::move(other.path_)) { other.path_.clear(); }

TempDir& TempDir::operator=(TempDir&& other) noexcept {
  if (this != &other) {
    Remove();
    path_ = std::move(other.path_);
    other.path_.clear();
  }
  return *this;
}

void TempDir::Remove() {
  if (path_.empty()) return;
  std::error_code ignored;
  fs::remove_all(path_, ignored);
  path_.clear();
}

}  // namespace parley::lab
