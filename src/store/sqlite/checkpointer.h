// Moves WAL checkpoints off the writer thread. SQLite's automatic checkpoint runs inside the
// COMMIT that crosses the threshold, so one unlucky batch of callers would wait for WAL pages
// to be copied into the database file and for its fsync. Here the writer's commit hook only
// signals; a thread of its own with its own connection runs PASSIVE checkpoints, which never
// block the writer or the readers.
#pragma once

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
  Checkpointer(const std::string& path, Connection& writer, int wal_pages = 1000);
  ~Checkpointer();
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
  bool due_ = false;       // guarded by mutex_
  bool stopping_ = false;  // guarded by mutex_
  std::thread thread_;
};

}  // namespace lms::store::sqlite
