#include "imports/imports_routes.h"

#include <sodium.h>

#include "common/async.h"
#include "common/errors.h"
#include "imports/multipart.h"

namespace lms::imports {

namespace asio = boost::asio;
using http::bhttp::field;
using http::bhttp::status;
using http::bhttp::verb;

namespace {

std::filesystem::path new_spool_file(const ImportService& imports) {
  unsigned char bytes[12];
  randombytes_buf(bytes, sizeof bytes);
  char hex[sizeof bytes * 2 + 1];
  sodium_bin2hex(hex, sizeof hex, bytes, sizeof bytes);
  return imports.settings().spool_dir / (std::string("import-") + hex + ".csv");
}

http::Response job_response(status code, const ImportJob& job) { return http::json_response(code, job_json(job)); }

std::string media_type(std::string_view content_type) {
  auto media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  std::string out(media);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

// Takes the CSV out of the spooled body: the body itself (text/csv), or its `file` part.
asio::awaitable<Upload> receive(http::RequestContext& ctx, ImportService& imports) {
  std::string content_type(ctx.request[field::content_type]);
  std::string media = media_type(content_type);
  Upload upload;
  upload.dedupe = ctx.query_param("dedupe");
  upload.assign = ctx.query_param("assign");
  upload.source = ctx.query_param("source");
  upload.mapping = ctx.query_param("mapping");
  upload.dry_run = ctx.query_param("dryRun");
  upload.spool_path = new_spool_file(imports);
  if (media == "text/csv" || media == "application/csv") {
    if (ctx.body_file.empty()) throw ApiError::validation("file", "the file is empty");
    std::filesystem::rename(ctx.body_file, upload.spool_path);
    upload.file_name = ctx.query_param("fileName").value_or("upload.csv");
    co_return upload;
  }
  if (media == "multipart/form-data") {
    auto boundary = multipart_boundary(content_type);
    if (!boundary) throw ApiError::bad_request("multipart/form-data without a boundary");
    if (ctx.body_file.empty()) throw ApiError::validation("file", "the multipart body has no file part");
    auto part = co_await run_on(imports.executor(),
                                [&] { return extract_part(ctx.body_file, *boundary, "file", upload.spool_path); });
    if (!part.error.empty()) {
      std::error_code ignored;
      std::filesystem::remove(upload.spool_path, ignored);
      throw ApiError::bad_request(part.error);
    }
    if (!part.found) throw ApiError::validation("file", "the multipart body has no part named file");
    upload.file_name = part.file_name;
    co_return upload;
  }
  throw ApiError(415, "unsupported_media_type", "send the CSV as text/csv or as the file part of multipart/form-data");
}

}  // namespace

void add_import_routes(http::Router& router, ImportService& imports) {
  router.add(verb::post, "/api/imports", [&imports](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto upload = co_await receive(ctx, imports);
    auto job = co_await imports.submit(ctx.caller(), std::move(upload));
    auto res = job_response(status::accepted, job);
    res.set(field::location, "/api/imports/" + job.id);
    co_return res;
  });

  router.add(verb::get, "/api/imports", [&imports](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    auto jobs = co_await imports.list(ctx.caller());
    std::string body = "{\"items\":[";
    for (std::size_t i = 0; i < jobs.size(); ++i) {
      if (i) body += ',';
      body += job_json(jobs[i]);
    }
    body += "]}";
    co_return http::json_response(status::ok, std::move(body));
  });

  router.add(verb::get, "/api/imports/:id", [&imports](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
    co_return job_response(status::ok, co_await imports.get(ctx.caller(), ctx.param("id")));
  });

  router.add(verb::get, "/api/imports/:id/errors",
             [&imports](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
               auto job = co_await imports.get(ctx.caller(), ctx.param("id"));
               ctx.stream = [&imports, job](http::ChunkWriter& out) -> asio::awaitable<void> {
                 std::int64_t after_row = 0;
                 bool header_sent = false;
                 for (;;) {
                   auto chunk = co_await imports.errors_page(job, after_row, header_sent);
                   if (chunk.empty()) co_return;
                   if (!co_await out.write(std::move(chunk))) co_return;
                 }
               };
               http::Response head{status::ok, 11};
               head.set(field::content_type, "text/csv; charset=utf-8");
               head.set(field::content_disposition, "attachment; filename=\"import-" + job.id + "-errors.csv\"");
               co_return head;
             });

  router.add(verb::post, "/api/imports/:id/revert",
             [&imports](http::RequestContext& ctx) -> asio::awaitable<http::Response> {
               co_return job_response(status::ok, co_await imports.revert(ctx.caller(), ctx.param("id")));
             });
}

}  // namespace lms::imports
