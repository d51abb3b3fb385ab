#include "parley/lab/child_process.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "parley/testing/files.h"

namespace parley::lab {
namespace {

namespace fs = std::filesystem;

std::string ReadText(const fs::path& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

class ChildProcessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = testing::TempPath("child_process");
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  // An executable shell script (the test's own program; RunChild itself uses no shell).
  std::string Script(const std::string& name, const std::string& body) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << "#!/bin/sh\n" << body << "\n";
    chmod(path.c_str(), 0755);
    return path;
  }

  std::string dir_;
};

TEST_F(ChildProcessTest, PassesArgumentsLiterallyAndCapturesBothStreams) {
  const std::string program =
      Script("echo-args", "for a in \"$@\"; do echo \"[$a]\"; done; echo oops >&2; exit 3");
  // Words a shell would split, expand or run: passed as they are.
  auto exit = RunChild(program, {"two words", "$HOME", "`id`", "a'b\"c"}, dir_ + "/out",
                       fs::path(dir_ + "/err"));
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_TRUE(exit->exited);
  EXPECT_EQ(exit->exit_code, 3);
  EXPECT_FALSE(exit->success());
  EXPECT_EQ(exit->Describe(), "exit status 3");
  EXPECT_EQ(ReadText(dir_ + "/out"), "[two words]\n[$HOME]\n[`id`]\n[a'b\"c]\n");
  EXPECT_EQ(ReadText(dir_ + "/err"), "oops\n");
}

TEST_F(ChildProcessTest, StderrJoinsStdoutWhenNotSeparated) {
  const std::string program = Script("both", "echo out; echo err >&2");
  auto exit = RunChild(program, {}, dir_ + "/log");
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_TRUE(exit->success());
  EXPECT_EQ(ReadText(dir_ + "/log"), "out\nerr\n");
  EXPECT_EQ(FileExcerpt(dir_ + "/log", 100), "out | err");
  EXPECT_EQ(FileExcerpt(dir_ + "/log", 2), "ou");
}

TEST_F(ChildProcessTest, ASignalIsReportedAsSuch) {
  const std::string program = Script("killed", "kill -9 $$");
  auto exit = RunChild(program, {}, dir_ + "/out");
  ASSERT_TRUE(exit.ok()) << exit.error().message;
  EXPECT_FALSE(exit->exited);
  EXPECT_EQ(exit->signal, 9);
  EXPECT_EQ(exit->Describe(), "signal 9");
}

TEST_F(ChildProcessTest, MissingOrUnrunnableProgramsAreErrors) {
  const std::string missing = dir_ + "/no-such-program";
  EXPECT_FALSE(ProgramAvailable(missing));
  auto exit = RunChild(missing, {}, dir_ + "/out");
  ASSERT_FALSE(exit.ok());
  EXPECT_NE(exit.error().message.find("no-such-program not found"), std::string::npos)
      << exit.error().message;

  const std::string not_executable = dir_ + "/plain";
  std::ofstream(not_executable) << "#!/bin/sh\necho hi\n";
  EXPECT_FALSE(ProgramAvailable(not_executable));
  exit = RunChild(not_executable, {}, dir_ + "/out");
  ASSERT_FALSE(exit.ok());
  EXPECT_NE(exit.error().message.find("plain"), std::string::npos) << exit.error().message;

  EXPECT_FALSE(ProgramAvailable(dir_));  // a directory
  EXPECT_FALSE(ProgramAvailable(""));
  EXPECT_TRUE(ProgramAvailable("sh"));  // on PATH

  // An output file that cannot be written: said so, nothing run.
  exit = RunChild(Script("fine", "true"), {}, dir_ + "/no-such-dir/out");
  ASSERT_FALSE(exit.ok());
  EXPECT_NE(exit.error().message.find("no-such-dir"), std::string::npos) << exit.error().message;
}

TEST_F(ChildProcessTest, TempDirIsRemovedWithItsContentAndMovesOwnership) {
  fs::path kept;
  {
    auto temp = TempDir::Create(dir_, "work-");
    ASSERT_TRUE(temp.ok()) << temp.error().message;
    kept = temp->path();
    EXPECT_EQ(kept.filename().string().rfind("work-", 0), 0u) << kept;
    EXPECT_TRUE(fs::is_directory(kept));
    std::ofstream(kept / "file") << "x";
    fs::create_directories(kept / "sub");
    TempDir moved = std::move(*temp);
    EXPECT_EQ(moved.path(), kept);
    EXPECT_TRUE(fs::is_directory(kept));
  }
  EXPECT_FALSE(fs::exists(kept));
  auto impossible = TempDir::Create(dir_ + "/missing", "x-");
  ASSERT_FALSE(impossible.ok());
  EXPECT_NE(impossible.error().message.find("missing"), std::string::npos);
}

}  // namespace
}  // namespace parley::lab
