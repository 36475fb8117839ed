// The /api/imports routes: parse the request, call ImportService, render. Uploads arrive as
// a file the HTTP server spooled (see http::UploadPolicy); multipart bodies are unpacked here.
#pragma once

#include "http/router.h"
#include "imports/import_service.h"

namespace lms::imports {

void add_import_routes(http::Router& router, ImportService& imports);

}  // namespace lms::imports
