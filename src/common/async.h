// run_on: runs a blocking function on another executor (a database or hashing pool) and
// resumes the awaiting coroutine on its own executor with the result or the exception.
// This is how lms keeps blocking work off the I/O threads.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/associated_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/execution.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/awaitable.hpp>

#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <type_traits>
#include <utility>

namespace lms {

namespace asio = boost::asio;

template <class Executor, class Fn>
auto run_on(Executor executor, Fn fn) -> asio::awaitable<std::invoke_result_t<Fn&>> {
  using Result = std::invoke_result_t<Fn&>;
  using Slot = std::conditional_t<std::is_void_v<Result>, bool, std::optional<Result>>;
  Slot slot{};
  // The coroutine stays suspended until the handler runs, so capturing locals by reference
  // is safe: the frame outlives the posted work.
  co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
      [&](auto handler) {
        auto home = asio::prefer(asio::get_associated_executor(handler),
                                 asio::execution::outstanding_work.tracked);
        asio::post(executor, [&, home, handler = std::move(handler)]() mutable {
          std::exception_ptr error;
          try {
            if constexpr (std::is_void_v<Result>) {
              fn();
            } else {
              slot.emplace(fn());
            }
          } catch (...) {
            error = std::current_exception();
          }
          asio::post(home, [handler = std::move(handler), error]() mutable { std::move(handler)(error); });
        });
      },
      asio::use_awaitable);
  if constexpr (!std::is_void_v<Result>) co_return std::move(*slot);
}

// Work started now and awaited later, so a caller can overlap it with its own: Pending::start
// posts fn to `executor` at once; get() suspends until fn has finished (or resumes at once
// if it already has) and returns its result or rethrows its exception. get() may be awaited
// once, and the caller keeps the Pending alive while it does. The job shares ownership of
// the state, so dropping a Pending with the job still in flight is safe.
template <class R>
class Pending {
 public:
  template <class Executor, class Fn>
  static std::shared_ptr<Pending> start(Executor executor, Fn fn) {
    auto pending = std::make_shared<Pending>();
    asio::post(executor, [pending, fn = std::move(fn)]() mutable {
      std::optional<R> value;
      std::exception_ptr error;
      try {
        value.emplace(fn());
      } catch (...) {
        error = std::current_exception();
      }
      std::function<void(std::exception_ptr)> waiter;
      {
        std::lock_guard lock(pending->mutex_);
        pending->value_ = std::move(value);
        pending->error_ = error;
        pending->done_ = true;
        waiter = std::move(pending->waiter_);
      }
      if (waiter) waiter(error);
    });
    return pending;
  }

  asio::awaitable<R> get() {
    co_await asio::async_initiate<const asio::use_awaitable_t<>&, void(std::exception_ptr)>(
        [this](auto handler) {
          auto home = asio::prefer(asio::get_associated_executor(handler), asio::execution::outstanding_work.tracked);
          auto shared = std::make_shared<decltype(handler)>(std::move(handler));
          std::function<void(std::exception_ptr)> resume = [home, shared](std::exception_ptr error) {
            asio::post(home, [shared, error]() { std::move(*shared)(error); });
          };
          std::unique_lock lock(mutex_);
          if (!done_) {
            waiter_ = std::move(resume);
            return;
          }
          lock.unlock();
          resume(error_);
        },
        asio::use_awaitable);
    co_return std::move(*value_);
  }

 private:
  std::mutex mutex_;
  bool done_ = false;                 // guarded by mutex_; value_ and error_ are final once set
  std::optional<R> value_;
  std::exception_ptr error_;
  std::function<void(std::exception_ptr)> waiter_;  // guarded by mutex_
};

}  // namespace lms
