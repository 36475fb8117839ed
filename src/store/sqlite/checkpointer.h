// Moves WAL checkpoints off the writer thread. SQLite's automatic checkpoint runs inside the
// COMMIT that crosses the threshold, so one unlucky batch of callers would wait for WAL pages
// to be copied into the database file and for its fsync. Here the writer's commit hook only
// signals; a thread of its own with its own connection runs PASSIVE checkpoints, which never
// block the writer or the readers.
//
// A PASSIVE checkpoint running beside a busy writer never catches up with it (new frames are
// appended while it copies), and SQLite only starts the WAL over from its beginning after a
// checkpoint that copied everything. So once the WAL has grown to `wal_pages` x kOverdueFactor
// frames, the writer itself checkpoints between two transactions (overdue()): most frames are
// already copied by then, and with no write in progress the checkpoint completes, so the next
// transaction reuses the file from its start.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "store/sqlite/connection.h"

namespace lms::store::sqlite {

class Checkpointer {
 public:
  // Installs the commit hook on `writer` (which must outlive this object) and starts the thread.
  static constexpr int kOverdueFactor = 8;

  Checkpointer(const std::string& path, Connection& writer, int wal_pages = 1000);
  ~Checkpointer();

  // True (once) when the writer should checkpoint on its own connection before its next
  // transaction. Writer thread only.
  bool overdue() { return overdue_.exchange(false, std::memory_order_relaxed); }
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

 private:
  static int on_commit(void* self, sqlite3* db, const char* schema, int wal_frames);
  void loop();

  std::unique_ptr<Connection> conn_;
  sqlite3* writer_;
  const int wal_pages_;
  std::mutex mutex_;
  std::condition_variable due_changed_;
  std::atomic<bool> overdue_{false};
  bool due_ = false;       // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace lms::store::sqlite
