// SIGINT and SIGTERM as a request to stop, for commands whose main thread polls: the
// handler only sets a flag (a lock-free atomic, safe to store from a signal handler), and
// the command's loop looks at it between turns. Installed without SA_RESTART, so a wait
// the signal interrupts returns at once and the loop sees the flag.
#pragma once

namespace parley::app {

// Replaces the SIGINT and SIGTERM dispositions for the rest of the process.
void InstallStopSignalHandlers();

// True once SIGINT or SIGTERM has arrived.
bool StopRequested();

}  // namespace parley::app
