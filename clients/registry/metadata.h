// Metadata keys of the registry's gRPC API, shared by simpul-registry (which sends them) and
// its clients (which read them).
#ifndef SIMPUL_CLIENTS_REGISTRY_METADATA_H_
#define SIMPUL_CLIENTS_REGISTRY_METADATA_H_

#include <string_view>

namespace simpul::clients::registry {

// kWatchCursorMetadataKey is the initial metadata of every WatchStandards stream: the cursor the
// watch starts after (the request's, or the feed's newest when watching from now). It arrives
// before any event, so a watcher knows from that moment on that it misses no change.
inline constexpr std::string_view kWatchCursorMetadataKey = "x-simpul-cursor";

}  // namespace simpul::clients::registry

#endif  // SIMPUL_CLIENTS_REGISTRY_METADATA_H_
