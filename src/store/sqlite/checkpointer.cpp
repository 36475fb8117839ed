#include "store/sqlite/checkpointer.h"

namespace lms::store::sqlite {

Checkpointer::Checkpointer(const std::string& path, Connection& writer, int wal_pages)
    : conn_(std::make_unique<Connection>(path, false)), writer_(writer.handle()), wal_pages_(wal_pages) {
  sqlite3_wal_hook(writer_, &Checkpointer::on_commit, this);  // replaces the automatic checkpoint
  thread_ = std::thread([this] { loop(); });
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_hook(writer_, nullptr, nullptr);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  due_changed_.notify_one();
  thread_.join();
}

int Checkpointer::on_commit(void* self, sqlite3*, const char*, int wal_frames) {
  auto* checkpointer = static_cast<Checkpointer*>(self);
  if (wal_frames < checkpointer->wal_pages_) return SQLITE_OK;
  if (wal_frames >= checkpointer->wal_pages_ * kOverdueFactor) checkpointer->overdue_.store(true, std::memory_order_relaxed);
  {
    std::lock_guard lock(checkpointer->mutex_);
    checkpointer->due_ = true;
  }
  checkpointer->due_changed_.notify_one();
  return SQLITE_OK;
}

void Checkpointer::loop() {
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      due_changed_.wait(lock, [this] { return due_ || stopping_; });
      if (stopping_) return;
      due_ = false;
    }
    // PASSIVE copies what no reader still needs and gives up on the rest; a busy or failed
    // checkpoint is simply retried after a later commit.
    sqlite3_wal_checkpoint_v2(conn_->handle(), nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  }
}

}  // namespace lms::store::sqlite
