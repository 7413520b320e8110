// The web front's static files (gateway/rest/web_front.h).
#include "gateway/rest/web_front.h"

#include <openssl/sha.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "common/absl_compat.h"
#include "common/excerpt.h"
#include "gateway/url.h"

namespace simpul::gateway {
namespace {

namespace fs = std::filesystem;

constexpr char kImmutable[] = "public, max-age=31536000, immutable";
constexpr char kNoCache[] = "no-cache";

std::string Etag(std::string_view body, std::string_view suffix) {
  unsigned char digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(body.data()), body.size(), digest);
  return absl::StrCat(
      "\"", absl::BytesToHexString(absl::string_view(reinterpret_cast<const char*>(digest), 16)),
      AbslView(suffix), "\"");
}

// IfNoneMatch: the If-None-Match header names `etag` (or is "*"); weak validators compare
// by their opaque part (RFC 9110 §13.1.2: weak comparison).
bool IfNoneMatch(std::string_view header, std::string_view etag) {
  for (absl::string_view tag : absl::StrSplit(AbslView(header), ',')) {
    tag = absl::StripAsciiWhitespace(tag);
    if (tag == "*") return true;
    absl::ConsumePrefix(&tag, "W/");
    if (tag == AbslView(etag)) return true;
  }
  return false;
}

}  // namespace

std::vector<std::pair<std::string, std::string>> WebSecurityHeaders() {
  return {{"Content-Security-Policy", std::string(kContentSecurityPolicy)},
          {"X-Content-Type-Options", "nosniff"},
          {"Referrer-Policy", "same-origin"},
          {"X-Frame-Options", "DENY"},
          {"Cross-Origin-Opener-Policy", "same-origin"}};
}

std::string_view WebContentType(std::string_view name) {
  static const std::map<std::string_view, std::string_view>* const kTypes =
      new std::map<std::string_view, std::string_view>{
          {"html", "text/html; charset=utf-8"},
          {"js", "text/javascript; charset=utf-8"},
          {"mjs", "text/javascript; charset=utf-8"},
          {"css", "text/css; charset=utf-8"},
          {"json", "application/json"},
          {"map", "application/json"},
          {"webmanifest", "application/manifest+json"},
          {"txt", "text/plain; charset=utf-8"},
          {"svg", "image/svg+xml"},
          {"png", "image/png"},
          {"jpg", "image/jpeg"},
          {"jpeg", "image/jpeg"},
          {"gif", "image/gif"},
          {"webp", "image/webp"},
          {"ico", "image/x-icon"},
          {"woff", "font/woff"},
          {"woff2", "font/woff2"},
          {"gz", "application/gzip"},
      };
  const size_t slash = name.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? name : name.substr(slash + 1);
  const size_t dot = base.rfind('.');
  if (dot == std::string_view::npos) return "application/octet-stream";
  const std::string ext = absl::AsciiStrToLower(AbslView(base.substr(dot + 1)));
  auto it = kTypes->find(ext);
  return it == kTypes->end() ? "application/octet-stream" : it->second;
}

bool AcceptsGzip(std::string_view accept_encoding) {
  for (absl::string_view item : absl::StrSplit(AbslView(accept_encoding), ',')) {
    std::vector<absl::string_view> parts = absl::StrSplit(item, ';');
    const std::string coding = absl::AsciiStrToLower(absl::StripAsciiWhitespace(parts[0]));
    if (coding != "gzip" && coding != "*") continue;
    double q = 1;
    for (size_t i = 1; i < parts.size(); ++i) {
      absl::string_view p = absl::StripAsciiWhitespace(parts[i]);
      if (absl::ConsumePrefix(&p, "q=") || absl::ConsumePrefix(&p, "Q=")) {
        if (!absl::SimpleAtod(p, &q)) q = 0;
      }
    }
    if (q > 0) return true;
  }
  return false;
}

bool WebFront::Handles(std::string_view path) {
  for (std::string_view api : {"/v1", "/open311"}) {
    if (path == api || absl::StartsWith(AbslView(path), absl::StrCat(AbslView(api), "/"))) {
      return false;
    }
  }
  return path != "/web/session";
}

absl::StatusOr<std::unique_ptr<WebFront>> WebFront::Load(const std::string& root,
                                                         size_t max_bytes) {
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("web_root: ", root, " is not a directory (the web front's build output)"));
  }
  if (!fs::is_regular_file(fs::path(root) / "index.html", ec)) {
    return absl::FailedPreconditionError(
        absl::StrCat("web_root: ", root, " has no index.html (is it the web front's build?)"));
  }
  std::unique_ptr<WebFront> front(new WebFront());
  std::map<std::string, std::string> raw;
  fs::recursive_directory_iterator it(root, fs::directory_options::none, ec);
  if (ec) {
    return absl::FailedPreconditionError(
        absl::StrCat("web_root: cannot list ", root, ": ", ec.message()));
  }
  for (; it != fs::recursive_directory_iterator(); it.increment(ec)) {
    if (ec) {
      return absl::FailedPreconditionError(
          absl::StrCat("web_root: cannot list ", root, ": ", ec.message()));
    }
    const fs::path& p = it->path();
    const std::string name = p.filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory(ec)) it.disable_recursion_pending();
      continue;  // dotfiles and dot directories are never served
    }
    if (!it->is_regular_file(ec) || it->is_symlink(ec)) continue;
    const size_t size = static_cast<size_t>(it->file_size(ec));
    if (ec || front->bytes_ + size > max_bytes) {
      return absl::FailedPreconditionError(
          absl::StrCat("web_root: ", p.string(), " brings the files loaded over the limit of ",
                       max_bytes, " bytes (", front->bytes_ + size, ")"));
    }
    std::ifstream in(p, std::ios::binary);
    std::ostringstream data;
    data << in.rdbuf();
    if (!in.good() && !in.eof()) {
      return absl::FailedPreconditionError(absl::StrCat("web_root: cannot read ", p.string()));
    }
    std::string bytes = data.str();
    if (bytes.size() != size) {
      return absl::FailedPreconditionError(absl::StrCat("web_root: cannot read ", p.string()));
    }
    front->bytes_ += size;
    std::string rel = fs::relative(p, root, ec).generic_string();
    raw.emplace(absl::StrCat("/", rel), std::move(bytes));
  }
  for (auto& [path, bytes] : raw) {
    File file;
    file.etag = Etag(bytes, "");
    file.content_type = WebContentType(path);
    if (auto gz = raw.find(path + ".gz"); gz != raw.end()) {
      file.gzip = std::make_shared<const std::string>(gz->second);
      file.gzip_etag = Etag(bytes, "-gz");
    }
    file.body = std::make_shared<const std::string>(std::move(bytes));
    front->files_.emplace(path, std::move(file));
  }
  return front;
}

WebFront::Reply WebFront::Serve(std::string_view method, std::string_view path,
                                std::string_view accept_encoding,
                                std::string_view if_none_match) const {
  Reply reply;
  reply.headers = WebSecurityHeaders();
  auto fail = [&reply](int status, absl::Status error) {
    reply.status = status;
    reply.error = std::move(error);
    return std::move(reply);
  };
  if (method != "GET" && method != "HEAD") {
    reply.headers.emplace_back("Allow", "GET, HEAD");
    return fail(405,
                absl::UnimplementedError(absl::StrCat(Excerpt(path), " does not take ",
                                                      Excerpt(method), "; it takes GET, HEAD")));
  }
  std::optional<std::string> decoded = PercentDecode(path, /*plus_is_space=*/false);
  if (!decoded || decoded->empty() || decoded->find('\0') != std::string::npos ||
      decoded->front() != '/' || decoded->find('\\') != std::string::npos) {
    return fail(400, absl::InvalidArgumentError(
                         absl::StrCat("malformed path ", Excerpt(path),
                                      ": expected /-separated segments, percent-encoded once, "
                                      "without NUL or backslash")));
  }
  const std::vector<absl::string_view> segments =
      absl::StrSplit(absl::string_view(*decoded).substr(1), '/');
  for (size_t i = 0; i < segments.size(); ++i) {
    const absl::string_view s = segments[i];
    const bool last = i + 1 == segments.size();
    if ((s.empty() && !last) || (!s.empty() && s.front() == '.')) {
      return fail(404, absl::NotFoundError(absl::StrCat("no file ", Excerpt(path))));
    }
  }
  const std::string name = *decoded == "/" ? "/index.html" : *decoded;
  if (auto it = files_.find(name); it != files_.end()) {
    return ServeFile(name, it->second, accept_encoding, if_none_match);
  }
  if (absl::StrContains(segments.back(), '.')) {
    return fail(404, absl::NotFoundError(absl::StrCat("no file ", Excerpt(path))));
  }
  // One of the front's own routes: its single page.
  return ServeFile("/index.html", files_.at("/index.html"), accept_encoding, if_none_match);
}

WebFront::Reply WebFront::ServeFile(const std::string& name, const File& file,
                                    std::string_view accept_encoding,
                                    std::string_view if_none_match) const {
  Reply reply;
  reply.headers = WebSecurityHeaders();
  const bool gzip = file.gzip != nullptr && AcceptsGzip(accept_encoding);
  const std::string& etag = gzip ? file.gzip_etag : file.etag;
  reply.headers.emplace_back("Cache-Control",
                             absl::StartsWith(name, "/assets/") ? kImmutable : kNoCache);
  reply.headers.emplace_back("ETag", etag);
  if (file.gzip != nullptr) reply.headers.emplace_back("Vary", "Accept-Encoding");
  if (!if_none_match.empty() && IfNoneMatch(if_none_match, etag)) {
    reply.status = 304;
    return reply;
  }
  reply.headers.emplace_back("Content-Type", std::string(file.content_type));
  if (gzip) reply.headers.emplace_back("Content-Encoding", "gzip");
  reply.body = gzip ? file.gzip : file.body;
  return reply;
}

}  // namespace simpul::gateway
