#include "system_stats.h"

#include <sched.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <thread>

namespace parley::relay_load {
namespace {

int64_t ReadInt(const char* path) {
  std::ifstream in(path);
  int64_t value = 0;
  in >> value;
  return value;
}

}  // namespace

ThreadCpu ReadThreadCpu(pthread_t thread, pid_t tid) {
  ThreadCpu out;
  clockid_t clock;
  timespec now{};
  if (pthread_getcpuclockid(thread, &clock) == 0 && clock_gettime(clock, &now) == 0) {
    out.total_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  }
  if (tid <= 0) return out;
  const StatTicks ticks = ReadStatTicks("/proc/self/task/" + std::to_string(tid) + "/stat");
  out.user_ticks = ticks.user;
  out.system_ticks = ticks.system;
  return out;
}

StatTicks ReadStatTicks(const std::string& path) {
  StatTicks out;
  std::ifstream in(path);
  std::string line;
  if (!std::getline(in, line)) return out;
  // The command name (field 2) may hold spaces; fields are counted after its ')'.
  const size_t close = line.rfind(')');
  if (close == std::string::npos || close + 2 > line.size()) return out;
  std::istringstream fields(line.substr(close + 2));
  std::string field;
  // After ')': state is field 3; utime and stime are fields 14 and 15.
  for (int index = 3; index <= 15 && fields >> field; ++index) {
    if (index == 14) out.user = std::stoll(field);
    if (index == 15) out.system = std::stoll(field);
  }
  out.valid = true;
  return out;
}

CoreTicks ReadCoreTicks(int core) {
  std::ifstream in("/proc/stat");
  const std::string wanted = "cpu" + std::to_string(core);
  std::string line;
  CoreTicks out;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    fields >> name;
    if (name != wanted) continue;
    int64_t user = 0, nice = 0, system = 0, idle = 0, iowait = 0, irq = 0, softirq = 0, steal = 0;
    fields >> user >> nice >> system >> idle >> iowait >> irq >> softirq >> steal;
    out.busy = user + nice + system + irq + softirq + steal;
    out.softirq = softirq;
    out.total = out.busy + idle + iowait;
    break;
  }
  return out;
}

int64_t ReadResidentBytes() { return ReadResidentBytesOf("/proc/self/statm"); }

int64_t ReadResidentBytesOf(const std::string& statm_path) {
  std::ifstream in(statm_path);
  int64_t size_pages = 0;
  int64_t resident_pages = 0;
  in >> size_pages >> resident_pages;
  return resident_pages * sysconf(_SC_PAGESIZE);
}

std::string ReadLoadAverage() {
  std::ifstream in("/proc/loadavg");
  std::string one, five, fifteen;
  in >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

MachineInfo ReadMachineInfo() {
  MachineInfo out;
  utsname name{};
  if (uname(&name) == 0) out.kernel = name.release;
  std::ifstream cpuinfo("/proc/cpuinfo");
  std::string line;
  while (std::getline(cpuinfo, line)) {
    if (line.rfind("model name", 0) == 0) {
      const size_t colon = line.find(':');
      if (colon != std::string::npos) out.cpu_model = line.substr(colon + 2);
      break;
    }
  }
  out.cores = static_cast<int>(std::thread::hardware_concurrency());
  out.rmem_max = ReadInt("/proc/sys/net/core/rmem_max");
  out.wmem_max = ReadInt("/proc/sys/net/core/wmem_max");
  return out;
}

bool PinCallingThread(int core) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(core, &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

pid_t CurrentTid() { return gettid(); }

int64_t MonotonicNs() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

int64_t TicksPerSecond() { return sysconf(_SC_CLK_TCK); }

}  // namespace parley::relay_load
