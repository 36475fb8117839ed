#include "imports/multipart.h"

#include <algorithm>
#include <cctype>
#include <fstream>
#include <vector>

namespace lms::imports {

namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// The value of `name=` in a header's parameters (quoted or not), or nullopt.
std::optional<std::string> parameter(std::string_view header, std::string_view name) {
  std::string low = lower(header);
  std::string key = std::string(name) + "=";
  for (std::size_t at = low.find(key); at != std::string::npos; at = low.find(key, at + 1)) {
    if (at > 0 && low[at - 1] != ';' && low[at - 1] != ' ' && low[at - 1] != '\t') continue;
    std::size_t start = at + key.size();
    if (start < header.size() && header[start] == '"') {
      std::string value;
      for (std::size_t i = start + 1; i < header.size(); ++i) {
        if (header[i] == '\\' && i + 1 < header.size()) value += header[++i];
        else if (header[i] == '"') return value;
        else value += header[i];
      }
      return std::nullopt;
    }
    std::size_t end = header.find_first_of("; \t", start);
    return std::string(header.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start));
  }
  return std::nullopt;
}

// Reads the body in chunks and finds delimiters across chunk borders.
class Scanner {
 public:
  explicit Scanner(const std::filesystem::path& path) : in_(path, std::ios::binary) {}
  bool ok() const { return static_cast<bool>(in_) || in_.eof(); }

  // Moves the bytes before `delimiter` to `sink` (nullptr: drops them) and consumes the
  // delimiter; false when the body ends first.
  template <class Sink>
  bool until(std::string_view delimiter, Sink&& sink) {
    for (;;) {
      auto at = std::search(buffer_.begin() + static_cast<std::ptrdiff_t>(pos_), buffer_.end(), delimiter.begin(),
                            delimiter.end());
      if (at != buffer_.end()) {
        auto n = static_cast<std::size_t>(at - buffer_.begin()) - pos_;
        sink(std::string_view(buffer_.data() + pos_, n));
        pos_ += n + delimiter.size();
        return true;
      }
      // Keep a tail that could start a delimiter; hand over the rest.
      std::size_t available = buffer_.size() - pos_;
      if (available >= delimiter.size()) {
        std::size_t safe = available - (delimiter.size() - 1);
        sink(std::string_view(buffer_.data() + pos_, safe));
        pos_ += safe;
      }
      if (!fill()) return false;
    }
  }

  // The next `n` bytes (fewer at the end), consumed.
  std::string take(std::size_t n) {
    while (buffer_.size() - pos_ < n && fill()) {
    }
    n = std::min(n, buffer_.size() - pos_);
    std::string out(buffer_.data() + pos_, n);
    pos_ += n;
    return out;
  }

 private:
  bool fill() {
    buffer_.erase(buffer_.begin(), buffer_.begin() + static_cast<std::ptrdiff_t>(pos_));
    pos_ = 0;
    std::size_t old = buffer_.size();
    buffer_.resize(old + kChunk);
    in_.read(buffer_.data() + old, static_cast<std::streamsize>(kChunk));
    auto got = static_cast<std::size_t>(in_.gcount());
    buffer_.resize(old + got);
    return got > 0;
  }

  static constexpr std::size_t kChunk = 256 * 1024;
  std::ifstream in_;
  std::vector<char> buffer_;
  std::size_t pos_ = 0;
};

}  // namespace

std::optional<std::string> multipart_boundary(std::string_view content_type) {
  auto semicolon = content_type.find(';');
  auto media = lower(content_type.substr(0, semicolon));
  while (!media.empty() && media.back() == ' ') media.pop_back();
  if (media != "multipart/form-data" || semicolon == std::string_view::npos) return std::nullopt;
  auto boundary = parameter(content_type.substr(semicolon + 1), "boundary");
  if (!boundary || boundary->empty() || boundary->size() > 200) return std::nullopt;
  return boundary;
}

ExtractedPart extract_part(const std::filesystem::path& body, std::string_view boundary, std::string_view field,
                           const std::filesystem::path& out) {
  ExtractedPart result;
  Scanner scan(body);
  auto drop = [](std::string_view) {};
  const std::string first = "--" + std::string(boundary);
  const std::string delimiter = "\r\n--" + std::string(boundary);
  if (!scan.until(first, drop)) {
    result.error = "no multipart boundary in the body";
    return result;
  }
  for (;;) {
    std::string after = scan.take(2);
    if (after == "--") return result;  // the closing delimiter
    if (after != "\r\n") {
      result.error = "malformed multipart delimiter";
      return result;
    }
    std::string headers;
    bool too_long = false;
    if (!scan.until("\r\n\r\n", [&](std::string_view piece) {
          if (headers.size() + piece.size() > 16 * 1024) too_long = true;
          else headers += piece;
        }) || too_long) {
      result.error = "malformed multipart part headers";
      return result;
    }
    std::optional<std::string> name, file_name;
    std::size_t start = 0;
    while (start < headers.size()) {
      auto end = headers.find("\r\n", start);
      if (end == std::string::npos) end = headers.size();
      std::string_view line(headers.data() + start, end - start);
      auto colon = line.find(':');
      if (colon != std::string_view::npos && lower(line.substr(0, colon)) == "content-disposition") {
        name = parameter(line.substr(colon + 1), "name");
        file_name = parameter(line.substr(colon + 1), "filename");
      }
      start = end + 2;
    }
    if (name == field && !result.found) {
      std::ofstream sink(out, std::ios::binary | std::ios::trunc);
      bool ended = scan.until(delimiter, [&](std::string_view piece) { sink.write(piece.data(), static_cast<std::streamsize>(piece.size())); });
      if (!sink) {
        result.error = "cannot store the uploaded file";
        return result;
      }
      if (!ended) {
        result.error = "the multipart body ends inside a part";
        return result;
      }
      result.found = true;
      result.file_name = file_name.value_or("");
    } else if (!scan.until(delimiter, drop)) {
      result.error = "the multipart body ends inside a part";
      return result;
    }
  }
}

}  // namespace lms::imports
