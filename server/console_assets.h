// The console's pages and assets, embedded at build time
// (server/embed_assets.cmake): server/console/ and Debian's Bootstrap 5 and
// Chart.js. Served by server/http_console.cc under "/" and "/assets/".
#ifndef CASELINE_SERVER_CONSOLE_ASSETS_H_
#define CASELINE_SERVER_CONSOLE_ASSETS_H_

#include "absl/strings/string_view.h"
#include "absl/types/span.h"

namespace caseline::server {

struct ConsoleAsset {
  // The URL path, e.g. "/assets/app.js".
  absl::string_view path;
  absl::string_view content_type;
  absl::string_view data;
};

// Every asset, in build order.
absl::Span<const ConsoleAsset> ConsoleAssets();

}  // namespace caseline::server

#endif  // CASELINE_SERVER_CONSOLE_ASSETS_H_
