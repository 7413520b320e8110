// Webhook signatures, URL and address checks, retry schedule (webhook_policy.h).
#include "services/complaints/webhook_policy.h"

#include <arpa/inet.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cstring>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/absl_compat.h"
#include "common/backoff.h"

namespace simpul::complaints {
namespace {

absl::string_view A(std::string_view s) { return AbslView(s); }

std::string Hex(const unsigned char* data, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(n * 2, '0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[data[i] >> 4];
    out[2 * i + 1] = kDigits[data[i] & 0xf];
  }
  return out;
}

// Address is a parsed IP address, IPv4 as its 4 bytes, IPv6 as its 16.
struct Address {
  bool v6 = false;
  std::array<unsigned char, 16> bytes{};
};

std::optional<Address> ParseAddress(std::string_view text) {
  const std::string s(text);
  Address a;
  if (inet_pton(AF_INET, s.c_str(), a.bytes.data()) == 1) return a;
  if (inet_pton(AF_INET6, s.c_str(), a.bytes.data()) == 1) {
    a.v6 = true;
    // An IPv4-mapped address (::ffff:a.b.c.d) is its IPv4 address.
    static constexpr unsigned char kMapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (std::memcmp(a.bytes.data(), kMapped, 12) == 0) {
      Address v4;
      std::memcpy(v4.bytes.data(), a.bytes.data() + 12, 4);
      return v4;
    }
    return a;
  }
  return std::nullopt;
}

// InPrefix: the first `bits` bits of `a` and `net` agree.
bool InPrefix(const Address& a, const std::array<unsigned char, 16>& net, int bits) {
  for (int i = 0; i < bits; ++i) {
    const int byte = i / 8, bit = 7 - i % 8;
    if (((a.bytes[byte] >> bit) & 1) != ((net[byte] >> bit) & 1)) return false;
  }
  return true;
}

struct Range {
  bool v6;
  const char* net;
  int bits;
  const char* reason;
};

// kForbidden are the ranges a webhook may not reach (RFC 6890 special-purpose registries).
constexpr Range kForbidden[] = {
    {false, "0.0.0.0", 8, "\"this network\" (0.0.0.0/8)"},
    {false, "10.0.0.0", 8, "private (RFC 1918, 10.0.0.0/8)"},
    {false, "100.64.0.0", 10, "carrier-grade NAT (100.64.0.0/10)"},
    {false, "127.0.0.0", 8, "loopback (127.0.0.0/8)"},
    {false, "169.254.0.0", 16, "link-local (169.254.0.0/16, cloud metadata)"},
    {false, "172.16.0.0", 12, "private (RFC 1918, 172.16.0.0/12)"},
    {false, "192.0.0.0", 24, "IETF protocol assignments (192.0.0.0/24)"},
    {false, "192.168.0.0", 16, "private (RFC 1918, 192.168.0.0/16)"},
    {false, "198.18.0.0", 15, "benchmarking (198.18.0.0/15)"},
    {false, "224.0.0.0", 4, "multicast (224.0.0.0/4)"},
    {false, "240.0.0.0", 4, "reserved (240.0.0.0/4, broadcast)"},
    {true, "::", 128, "unspecified (::)"},
    {true, "::1", 128, "loopback (::1)"},
    {true, "64:ff9b::", 96, "NAT64 (64:ff9b::/96)"},
    {true, "100::", 64, "discard-only (100::/64)"},
    {true, "fc00::", 7, "unique local (fc00::/7)"},
    {true, "fe80::", 10, "link-local (fe80::/10)"},
    {true, "fec0::", 10, "site-local (fec0::/10)"},
    {true, "ff00::", 8, "multicast (ff00::/8)"},
};

// ParseCidr parses "addr/bits" or a bare address.
std::optional<std::pair<Address, int>> ParseCidr(std::string_view cidr) {
  const size_t slash = cidr.find('/');
  std::optional<Address> a = ParseAddress(cidr.substr(0, slash));
  if (!a) return std::nullopt;
  const int max_bits = a->v6 ? 128 : 32;
  int bits = max_bits;
  if (slash != std::string_view::npos &&
      (!absl::SimpleAtoi(A(cidr.substr(slash + 1)), &bits) || bits < 0 || bits > max_bits)) {
    return std::nullopt;
  }
  return std::make_pair(*a, bits);
}

}  // namespace

// ---- Signatures ---------------------------------------------------------------------------

std::string WebhookSignature(std::string_view secret, int64_t unix_seconds, std::string_view body) {
  const std::string message = absl::StrCat(unix_seconds, ".", A(body));
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(message.data()), message.size(), mac, &mac_len);
  return Hex(mac, mac_len);
}

std::string WebhookSignatureHeader(const std::vector<std::string>& secrets, int64_t unix_seconds,
                                   std::string_view body) {
  std::string out = absl::StrCat("t=", unix_seconds);
  for (const std::string& secret : secrets) {
    absl::StrAppend(&out, ",v1=", WebhookSignature(secret, unix_seconds, body));
  }
  return out;
}

absl::Status VerifyWebhookSignature(std::string_view header, std::string_view secret,
                                    std::string_view body, absl::Time now,
                                    absl::Duration tolerance) {
  std::optional<int64_t> t;
  std::vector<absl::string_view> v1;
  for (absl::string_view part : absl::StrSplit(A(header), ',')) {
    part = absl::StripAsciiWhitespace(part);
    if (absl::ConsumePrefix(&part, "t=")) {
      int64_t value = 0;
      if (t || !absl::SimpleAtoi(part, &value)) {
        return absl::InvalidArgumentError("signature header: expected one t=<unix seconds>");
      }
      t = value;
    } else if (absl::ConsumePrefix(&part, "v1=")) {
      v1.push_back(part);
    }  // other schemes are ignored, so new ones can be added
  }
  if (!t || v1.empty()) {
    return absl::InvalidArgumentError("signature header: expected t=<unix seconds>,v1=<hex>");
  }
  if (absl::AbsDuration(now - absl::FromUnixSeconds(*t)) > tolerance) {
    return absl::DeadlineExceededError(
        absl::StrCat("signature header: t=", *t, " is outside the replay window"));
  }
  const std::string expected = WebhookSignature(secret, *t, body);
  bool match = false;
  for (absl::string_view sig : v1) {
    if (sig.size() == expected.size() &&
        CRYPTO_memcmp(sig.data(), expected.data(), expected.size()) == 0) {
      match = true;
    }
  }
  if (!match) return absl::UnauthenticatedError("signature header: no v1 signature matches");
  return absl::OkStatus();
}

// ---- URLs and addresses -------------------------------------------------------------------

absl::StatusOr<WebhookUrl> ParseWebhookUrl(std::string_view url, const WebhookUrlPolicy& policy) {
  if (url.empty()) return absl::InvalidArgumentError("expected an https:// URL");
  if (url.size() > policy.max_url_bytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("the URL has ", url.size(), " bytes; at most ", policy.max_url_bytes));
  }
  for (char c : url) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return absl::InvalidArgumentError(
          "the URL holds a space, a control or a non-ASCII character (percent-encode it)");
    }
  }
  WebhookUrl out;
  absl::string_view rest = A(url);
  if (absl::ConsumePrefix(&rest, "https://")) {
    out.https = true;
    out.port = 443;
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    if (!policy.allow_http) {
      return absl::InvalidArgumentError(
          "expected an https:// URL (plain http is not allowed by webhook_allow_http)");
    }
    out.https = false;
    out.port = 80;
  } else {
    return absl::InvalidArgumentError("expected an https:// URL");
  }
  if (rest.find('#') != absl::string_view::npos) {
    return absl::InvalidArgumentError("the URL may not have a fragment (#...)");
  }
  const size_t path_start = rest.find_first_of("/?");
  absl::string_view authority = rest.substr(0, path_start);
  if (path_start != absl::string_view::npos) {
    out.target = std::string(rest.substr(path_start));
    if (out.target[0] == '?') out.target = absl::StrCat("/", out.target);
  }
  if (authority.find('@') != absl::string_view::npos) {
    return absl::InvalidArgumentError("the URL may not carry user information (user@host)");
  }
  absl::string_view port_text;
  if (absl::ConsumePrefix(&authority, "[")) {
    const size_t close = authority.find(']');
    if (close == absl::string_view::npos) {
      return absl::InvalidArgumentError("the URL's IPv6 host has no closing ']'");
    }
    out.host = std::string(authority.substr(0, close));
    absl::string_view after = authority.substr(close + 1);
    if (!after.empty() && !absl::ConsumePrefix(&after, ":")) {
      return absl::InvalidArgumentError("expected ':<port>' after the URL's IPv6 host");
    }
    port_text = after;
    if (!ParseAddress(out.host)) {
      return absl::InvalidArgumentError("the URL's bracketed host is not an IPv6 address");
    }
  } else {
    const size_t colon = authority.find(':');
    out.host = std::string(authority.substr(0, colon));
    if (colon != absl::string_view::npos) {
      port_text = authority.substr(colon + 1);
      if (port_text.empty()) return absl::InvalidArgumentError("the URL's port is empty");
    }
    const bool host_chars = std::all_of(out.host.begin(), out.host.end(), [](char c) {
      return absl::ascii_isalnum(c) || c == '-' || c == '.';
    });
    if (!host_chars) {
      return absl::InvalidArgumentError(
          "the URL's host may hold only letters, digits, '-' and '.'");
    }
  }
  if (out.host.empty()) return absl::InvalidArgumentError("the URL has no host");
  absl::AsciiStrToLower(&out.host);
  if (!port_text.empty()) {
    int port = 0;
    if (!absl::SimpleAtoi(port_text, &port) || port < 1 || port > 65535) {
      return absl::InvalidArgumentError("the URL's port is not a number in 1..65535");
    }
    out.port = static_cast<uint16_t>(port);
  }
  return out;
}

std::optional<std::string> ForbiddenAddressReason(std::string_view ip) {
  std::optional<Address> a = ParseAddress(ip);
  if (!a) return "not an IP address";
  for (const Range& r : kForbidden) {
    if (r.v6 != a->v6) continue;
    Address net;
    inet_pton(r.v6 ? AF_INET6 : AF_INET, r.net, net.bytes.data());
    if (InPrefix(*a, net.bytes, r.bits)) return std::string(r.reason);
  }
  return std::nullopt;
}

bool AddressInCidrs(std::string_view ip, const std::vector<std::string>& cidrs) {
  std::optional<Address> a = ParseAddress(ip);
  if (!a) return false;
  for (const std::string& cidr : cidrs) {
    auto net = ParseCidr(cidr);
    if (net && net->first.v6 == a->v6 && InPrefix(*a, net->first.bytes, net->second)) return true;
  }
  return false;
}

absl::Status ValidateWebhookUrlPolicy(const WebhookUrlPolicy& policy) {
  for (const std::string& cidr : policy.allow_cidrs) {
    if (!ParseCidr(cidr)) {
      return absl::InvalidArgumentError(absl::StrCat(
          "webhook_allow_cidrs: \"", cidr, "\" is not a network (\"10.1.0.0/16\", \"fd00::/8\")"));
    }
  }
  for (const std::string& host : policy.allow_hosts) {
    if (host.empty() || host != absl::AsciiStrToLower(host)) {
      return absl::InvalidArgumentError(
          absl::StrCat("webhook_allow_hosts: \"", host, "\" is not a lowercase host name"));
    }
  }
  return absl::OkStatus();
}

absl::Status CheckWebhookAddresses(const WebhookUrlPolicy& policy, std::string_view host,
                                   const std::vector<std::string>& addresses) {
  if (std::find(policy.allow_hosts.begin(), policy.allow_hosts.end(), host) !=
      policy.allow_hosts.end()) {
    return absl::OkStatus();
  }
  if (addresses.empty()) {
    return absl::InvalidArgumentError(absl::StrCat("the host ", A(host), " has no address"));
  }
  for (const std::string& ip : addresses) {
    if (AddressInCidrs(ip, policy.allow_cidrs)) continue;
    if (std::optional<std::string> why = ForbiddenAddressReason(ip)) {
      return absl::InvalidArgumentError(
          absl::StrCat("the host ", A(host), " resolves to ", ip, ", a ", *why,
                       " address a webhook may not reach (unless allowed by webhook_allow_cidrs)"));
    }
  }
  return absl::OkStatus();
}

// ---- Retries ------------------------------------------------------------------------------

std::optional<absl::Time> NextWebhookAttempt(const WebhookRetryPolicy& policy,
                                             absl::Time first_attempt, int failed_attempts,
                                             absl::Time now, uint64_t seed) {
  Backoff backoff(Backoff::Options{.initial = policy.initial,
                                   .max = policy.max,
                                   .factor = policy.factor,
                                   .jitter = policy.jitter},
                  seed);
  absl::Duration wait = backoff.Next();
  // At most ~64 doublings matter before the cap; the rest only repeat `max`.
  for (int i = 1; i < std::min(failed_attempts, 64); ++i) wait = backoff.Next();
  const absl::Time next = now + wait;
  if (next > first_attempt + policy.window) return std::nullopt;
  return next;
}

}  // namespace simpul::complaints
