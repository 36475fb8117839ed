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

}  // namespace lms
