// The one exception type of lms: a domain outcome that the HTTP layer turns into the
// contract's error body ({"error": {"code", "message", "details"}}) in exactly one place
// (http/dispatcher.cpp). Services throw it; nothing else crosses layers as an error.
#pragma once

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace lms {

struct FieldError {
  std::string field;
  std::string message;
};

class ApiError : public std::runtime_error {
 public:
  ApiError(int status, std::string code, std::string message,
           std::vector<FieldError> details = {})
      : std::runtime_error(message),
        status_(status),
        code_(std::move(code)),
        details_(std::move(details)) {}

  int status() const { return status_; }
  const std::string& code() const { return code_; }
  const std::vector<FieldError>& details() const { return details_; }

  // Extra top-level members of the error object, e.g. `existingId` on duplicate_lead.
  std::vector<std::pair<std::string, std::string>> extra;

  static ApiError bad_request(std::string message) { return {400, "bad_request", std::move(message)}; }
  static ApiError unauthorized(std::string message = "authentication required") {
    return {401, "unauthorized", std::move(message)};
  }
  static ApiError invalid_credentials() { return {401, "invalid_credentials", "invalid email or password"}; }
  static ApiError forbidden(std::string message = "not allowed for your role") {
    return {403, "forbidden", std::move(message)};
  }
  static ApiError not_found(std::string message = "not found") { return {404, "not_found", std::move(message)}; }
  static ApiError validation(std::vector<FieldError> details) {
    std::string message = details.empty() ? "validation failed" : details.front().field + ": " + details.front().message;
    return {422, "validation_failed", std::move(message), std::move(details)};
  }
  static ApiError validation(std::string field, std::string message) {
    return validation(std::vector<FieldError>{{std::move(field), std::move(message)}});
  }
  static ApiError unavailable(std::string message = "service unavailable") {
    return {503, "unavailable", std::move(message)};
  }

 private:
  int status_;
  std::string code_;
  std::vector<FieldError> details_;
};

}  // namespace lms
