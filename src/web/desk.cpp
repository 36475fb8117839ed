#include "web/desk.h"

#include <chrono>
#include <fstream>
#include <sstream>
#include <system_error>

#include "web/embedded_assets.h"

namespace lms::web {

namespace {

constexpr std::string_view kIndex = "/index.html";
constexpr std::size_t kMaxFolderFile = 16 * 1024 * 1024;

// The pages load only their own scripts and styles and talk only to this origin (REST and the
// Socket.IO endpoint, over WebSocket too). Chart.js sets canvas sizes through the CSSOM, which
// style-src does not govern.
constexpr std::string_view kPagePolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self' ws: wss:; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

// A path the desk may name: letters, digits, '.', '_', '-' and single '/' between segments,
// no segment starting with '.' (no "..", no hidden files).
bool plain_path(std::string_view path) {
  if (path.empty() || path.front() != '/' || path.size() > 256) return false;
  char previous = '/';
  for (std::size_t i = 1; i < path.size(); ++i) {
    char c = path[i];
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-' ||
              c == '/' || c == '.';
    if (!ok) return false;
    if (previous == '/' && (c == '/' || c == '.')) return false;
    previous = c;
  }
  return true;
}

// A name with an extension in its last segment is a file, never a page of the desk.
bool names_a_file(std::string_view path) {
  auto slash = path.rfind('/');
  return path.find('.', slash == std::string_view::npos ? 0 : slash) != std::string_view::npos;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

// Whether Accept-Encoding takes `coding` (listed, and not with q=0).
bool accepts(std::string_view header, std::string_view coding) {
  while (!header.empty()) {
    auto comma = header.find(',');
    auto item = trim(header.substr(0, comma));
    header = comma == std::string_view::npos ? std::string_view{} : header.substr(comma + 1);
    auto semicolon = item.find(';');
    if (trim(item.substr(0, semicolon)) != coding) continue;
    if (semicolon == std::string_view::npos) return true;
    auto params = trim(item.substr(semicolon + 1));
    if (!params.starts_with("q=")) return true;
    auto q = params.substr(2);
    return !(q == "0" || q == "0." || q.find_first_not_of("0.") == std::string_view::npos);
  }
  return false;
}

bool etag_matches(std::string_view if_none_match, std::string_view etag) {
  if (trim(if_none_match) == "*") return true;
  while (!if_none_match.empty()) {
    auto comma = if_none_match.find(',');
    auto tag = trim(if_none_match.substr(0, comma));
    if (tag.starts_with("W/")) tag.remove_prefix(2);
    if (tag == etag) return true;
    if_none_match = comma == std::string_view::npos ? std::string_view{} : if_none_match.substr(comma + 1);
  }
  return false;
}

}  // namespace

std::string_view content_type_of(std::string_view name) {
  auto dot = name.rfind('.');
  auto ext = dot == std::string_view::npos ? std::string_view{} : name.substr(dot + 1);
  if (ext == "html") return "text/html; charset=utf-8";
  if (ext == "js" || ext == "mjs") return "text/javascript; charset=utf-8";
  if (ext == "css") return "text/css; charset=utf-8";
  if (ext == "json" || ext == "map") return "application/json";
  if (ext == "svg") return "image/svg+xml";
  if (ext == "png") return "image/png";
  if (ext == "ico") return "image/x-icon";
  if (ext == "woff2") return "font/woff2";
  if (ext == "txt") return "text/plain; charset=utf-8";
  if (ext == "webmanifest") return "application/manifest+json";
  return "application/octet-stream";
}

std::shared_ptr<const Desk> Desk::embedded() {
  auto desk = std::make_shared<Desk>(Desk{});
  for (const auto& asset : embedded_assets()) {
    File file;
    file.content_type = asset.content_type;
    file.etag = asset.etag;
    file.immutable = asset.immutable;
    file.identity = asset.identity;
    file.gzip = asset.gzip;
    file.brotli = asset.brotli;
    desk->embedded_.emplace(std::string(asset.path), std::move(file));
  }
  return desk;
}

std::shared_ptr<const Desk> Desk::from_directory(std::filesystem::path root) {
  auto desk = std::make_shared<Desk>(Desk{});
  desk->root_ = std::move(root);
  return desk;
}

bool Desk::available() const { return find(kIndex).has_value(); }

std::optional<Desk::File> Desk::find(std::string_view path) const {
  if (path == "/") path = kIndex;
  if (!plain_path(path)) return std::nullopt;
  if (root_.empty()) {
    auto it = embedded_.find(path);
    if (it == embedded_.end()) return std::nullopt;
    return it->second;
  }
  std::error_code ec;
  auto file_path = root_ / std::filesystem::path(path.substr(1));
  if (!std::filesystem::is_regular_file(file_path, ec)) return std::nullopt;
  auto size = std::filesystem::file_size(file_path, ec);
  auto modified = std::filesystem::last_write_time(file_path, ec);
  if (ec || size > kMaxFolderFile) return std::nullopt;
  std::ifstream in(file_path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  if (!in) return std::nullopt;
  File file;
  file.content_type = content_type_of(path);
  file.etag = "\"" + std::to_string(size) + "-" + std::to_string(static_cast<std::uint64_t>(modified.time_since_epoch().count())) + "\"";
  file.owned = std::move(content).str();
  return file;
}

http::Response Desk::answer(const http::Request& request, const File& file) const {
  namespace bhttp = http::bhttp;
  auto accept = request[bhttp::field::accept_encoding];
  std::string_view body = file.owned.empty() ? file.identity : std::string_view(file.owned);
  std::string_view encoding;
  if (!file.brotli.empty() && accepts(accept, "br")) {
    body = file.brotli;
    encoding = "br";
  } else if (!file.gzip.empty() && accepts(accept, "gzip")) {
    body = file.gzip;
    encoding = "gzip";
  }
  bool fresh = etag_matches(request[bhttp::field::if_none_match], file.etag);
  http::Response response{fresh ? bhttp::status::not_modified : bhttp::status::ok, request.version()};
  response.set(bhttp::field::etag, file.etag);
  response.set(bhttp::field::cache_control, file.immutable ? "public, max-age=31536000, immutable" : "no-cache");
  response.set(bhttp::field::vary, "Accept-Encoding");
  response.set("X-Content-Type-Options", "nosniff");
  if (file.content_type.starts_with("text/html")) {
    response.set("Content-Security-Policy", kPagePolicy);
    response.set("Referrer-Policy", "same-origin");
    response.set("X-Frame-Options", "DENY");
  }
  if (!fresh) {
    response.set(bhttp::field::content_type, file.content_type);
    if (!encoding.empty()) response.set(bhttp::field::content_encoding, encoding);
    response.body().assign(body);
  }
  response.prepare_payload();
  return response;
}

http::Response Desk::serve(const http::Request& request, std::string_view path) const {
  if (auto file = find(path)) return answer(request, *file);
  // A missing script or image is a 404, never the page (a browser would try to run HTML).
  if (names_a_file(path)) return http::error_response(404, "not_found", "no such file");
  auto index = find(kIndex);
  if (!index)
    return http::error_response(404, "not_found",
                                "the web desk is not part of this build (built with -DLMS_WEB=OFF, or --web-dir has no index.html)");
  return answer(request, *index);
}

void register_desk_routes(http::Router& router, std::shared_ptr<const Desk> desk) {
  router.set_fallback("/*", [desk = std::move(desk)](http::RequestContext& ctx) -> boost::asio::awaitable<http::Response> {
    co_return desk->serve(ctx.request, ctx.path);
  });
}

}  // namespace lms::web
