// WebFront: the web front's static files (web/build.mjs's output, --web_root), loaded into
// memory at start and served by the REST front on every path that is not the REST API
// (/v1/...), Open311 (/open311/...) or the officer session (/web/session).
//
//   - a file of the root when it exists: regular files only (symbolic links, dotfiles and
//     directories are never served), the path percent-decoded once (a malformed escape or a
//     NUL is 400; "." and ".." segments, empty segments and dotfiles are 404);
//     Content-Type by extension; its ".gz" copy when the client accepts gzip
//     (Content-Encoding: gzip); Vary: Accept-Encoding when a copy exists; a strong ETag
//     (If-None-Match → 304); Cache-Control "public, max-age=31536000, immutable" under
//     /assets/ (hashed names), "no-cache" otherwise;
//   - index.html (200, no-cache) for any other path whose last segment has no dot (the
//     front's own routes: /kinerja, /standar/x, /petugas/...); 404 for a missing file;
//   - GET and HEAD only: 405 with Allow otherwise.
// Every answer, errors included, carries the front's security headers (WebSecurityHeaders).
#ifndef SIMPUL_GATEWAY_REST_WEB_FRONT_H_
#define SIMPUL_GATEWAY_REST_WEB_FRONT_H_

#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace simpul::gateway {

// kContentSecurityPolicy is the CSP of every answer of the front.
inline constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'";

// WebSecurityHeaders are the headers on every answer of the front and of /web/session (HSTS
// is added by the REST front when it serves TLS).
std::vector<std::pair<std::string, std::string>> WebSecurityHeaders();

// WebContentType is the media type of a file name by its extension
// ("application/octet-stream" for an unknown one).
std::string_view WebContentType(std::string_view name);

class WebFront {
 public:
  // kDefaultMaxBytes bounds the bytes loaded (every file, .gz copies included).
  static constexpr size_t kDefaultMaxBytes = size_t{64} << 20;

  // Load reads every regular file under `root`. FAILED_PRECONDITION naming the directory
  // when it is missing, not a directory or has no index.html; naming the file and the limit
  // when the total would exceed `max_bytes`; naming the file when it cannot be read.
  static absl::StatusOr<std::unique_ptr<WebFront>> Load(const std::string& root,
                                                        size_t max_bytes = kDefaultMaxBytes);

  // Handles: `path` (the request target without its query) belongs to the front, not to the
  // REST API, Open311 or /web/session.
  static bool Handles(std::string_view path);

  // Reply is one answer. For errors (status >= 400) `error` says why and the REST front
  // renders it as its JSON error; `headers` are to be sent in every case.
  struct Reply {
    int status = 200;
    std::vector<std::pair<std::string, std::string>> headers;
    std::shared_ptr<const std::string> body;  // null for 304, HEAD carries it for its length
    absl::Status error;
  };
  // Serve answers `method` on `path` (percent-encoded, without the query).
  Reply Serve(std::string_view method, std::string_view path, std::string_view accept_encoding,
              std::string_view if_none_match) const;

  size_t files() const { return files_.size(); }
  size_t bytes() const { return bytes_; }

 private:
  struct File {
    std::shared_ptr<const std::string> body;
    std::shared_ptr<const std::string> gzip;  // null without a .gz copy
    std::string etag;                         // of body
    std::string gzip_etag;                    // of gzip
    std::string_view content_type;
  };
  WebFront() = default;
  Reply ServeFile(const std::string& name, const File& file, std::string_view accept_encoding,
                  std::string_view if_none_match) const;

  std::map<std::string, File, std::less<>> files_;  // by path, "/index.html"
  size_t bytes_ = 0;
};

// AcceptsGzip: an Accept-Encoding header value accepts gzip (a "gzip" or "*" coding with a
// q-value above 0).
bool AcceptsGzip(std::string_view accept_encoding);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_REST_WEB_FRONT_H_
