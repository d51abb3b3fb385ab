// What the relay load benchmark reads from the system around a measurement window:
// CPU time of one thread or process, busy time of one core, resident memory, the load
// average.
//
// Thread CPU comes from the thread's CPU clock (pthread_getcpuclockid, ns resolution,
// readable from any thread) and its user/system split from /proc/self/task/<tid>/stat
// (clock ticks, 10 ms). Core busy time comes from /proc/stat: it also sees what the
// kernel does on that core outside the thread (softirqs run by ksoftirqd, interrupts)
// and what other tenants of the machine run there.
//
// Errors: a /proc file that cannot be read gives zeros (the report then shows 0); these
// are measurements, not inputs the benchmark depends on. Threading: free functions, any
// thread.
#pragma once

#include <pthread.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace parley::relay_load {

// CPU time a thread has used, in ns.
struct ThreadCpu {
  int64_t total_ns = 0;    // from the thread's CPU clock
  int64_t user_ticks = 0;  // from /proc (USER_HZ ticks)
  int64_t system_ticks = 0;
};

// `thread`'s CPU clock and, when `tid` > 0, its /proc user/system split.
ThreadCpu ReadThreadCpu(pthread_t thread, pid_t tid);

// User and system CPU of a process or thread from its /proc stat file
// ("/proc/<pid>/stat", "/proc/self/task/<tid>/stat"), in USER_HZ ticks; valid false when
// the file could not be read (the process is gone).
struct StatTicks {
  int64_t user = 0;
  int64_t system = 0;
  bool valid = false;
};
StatTicks ReadStatTicks(const std::string& path);

// One core's counters from /proc/stat, in USER_HZ ticks.
struct CoreTicks {
  int64_t busy = 0;     // user + nice + system + irq + softirq + steal
  int64_t softirq = 0;  // of busy
  int64_t total = 0;    // busy + idle + iowait
};
CoreTicks ReadCoreTicks(int core);

// Resident set size of this process, in bytes (/proc/self/statm).
int64_t ReadResidentBytes();
// The same for any process, from its statm file ("/proc/<pid>/statm"); 0 when unreadable.
int64_t ReadResidentBytesOf(const std::string& statm_path);

// "0.42 0.51 0.60" from /proc/loadavg.
std::string ReadLoadAverage();

// The kernel release (uname -r), the CPU model name, net.core.rmem_max / wmem_max.
struct MachineInfo {
  std::string kernel;
  std::string cpu_model;
  int cores = 0;
  int64_t rmem_max = 0;
  int64_t wmem_max = 0;
};
MachineInfo ReadMachineInfo();

// Pins the calling thread to `core`. Returns false when the system refused.
bool PinCallingThread(int core);

// The calling thread's kernel id (gettid).
pid_t CurrentTid();

// CLOCK_MONOTONIC in ns.
int64_t MonotonicNs();

// USER_HZ (sysconf(_SC_CLK_TCK)).
int64_t TicksPerSecond();

}  // namespace parley::relay_load
