// Serves the lead desk (web/): its files and, for any other path outside the API, index.html,
// so the desk's own routes (/leads?status=new, /imports/ID) can be bookmarked and reloaded.
// The files come from the copy built into the binary, or from a folder (`--web-dir`, for
// working on the desk without relinking). Owns caching (hashed assets immutable, index.html
// revalidated by ETag), content negotiation of the precompressed copies, and the security
// headers of the pages. Touches only the HTTP vocabulary (http/types.h) and the file system.
#pragma once

#include <filesystem>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "http/router.h"
#include "http/types.h"

namespace lms::web {

class Desk {
 public:
  // The copy built into the binary.
  static std::shared_ptr<const Desk> embedded();
  // The files of `root` (built by `node web/build.mjs --outdir root`), read at each request.
  static std::shared_ptr<const Desk> from_directory(std::filesystem::path root);

  // True when there is an index.html to serve.
  bool available() const;
  http::Response serve(const http::Request& request, std::string_view path) const;

 private:
  struct File {
    std::string content_type;
    std::string etag;
    bool immutable = false;
    std::string_view identity, gzip, brotli;
    std::string owned;  // the folder's copy; the embedded ones live in the binary
  };
  std::optional<File> find(std::string_view path) const;
  http::Response answer(const http::Request& request, const File& file) const;

  std::map<std::string, File, std::less<>> embedded_;
  std::filesystem::path root_;  // empty: embedded
};

// The fallback route of `router`: the desk for every GET outside /api and /socket.io.
void register_desk_routes(http::Router& router, std::shared_ptr<const Desk> desk);

// The Content-Type of a file name, by its extension.
std::string_view content_type_of(std::string_view name);

}  // namespace lms::web
