// Bytes and gRPC byte buffers, for code that handles messages as raw bytes (the gateway's
// proxy and REST front, the registry's raw snapshot answers).
//
// ByteBufferOf hands bytes that are already a serialized message to gRPC without copying them:
// the buffer's one slice points into the bytes and keeps them alive until gRPC releases it.
// The registry answers from its snapshot's stored bytes with it, and the gateway from its read
// cache. BufferBytes is the other way: a buffer's content as one string (a copy).
#ifndef SIMPUL_COMMON_BYTE_BUFFER_H_
#define SIMPUL_COMMON_BYTE_BUFFER_H_

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "grpcpp/support/byte_buffer.h"
#include "grpcpp/support/slice.h"

namespace simpul {

namespace byte_buffer_internal {

// Holding makes a one-slice buffer over `data`/`size`, which `held` (owned by the slice from
// now on) keeps valid.
template <typename Holder>
grpc::ByteBuffer Holding(Holder* held, const char* data, size_t size) {
  grpc::Slice slice(
      const_cast<char*>(data), size, [](void* p) { delete static_cast<Holder*>(p); }, held);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace byte_buffer_internal

inline grpc::ByteBuffer ByteBufferOf(std::string bytes) {
  auto* held = new std::string(std::move(bytes));
  return byte_buffer_internal::Holding(held, held->data(), held->size());
}

// The shared bytes stay alive as long as any buffer made from them (a cached answer handed to
// many callers at once).
inline grpc::ByteBuffer ByteBufferOf(std::shared_ptr<const std::string> bytes) {
  auto* held = new std::shared_ptr<const std::string>(std::move(bytes));
  return byte_buffer_internal::Holding(held, (*held)->data(), (*held)->size());
}

// BufferBytes is the content of a gRPC byte buffer (empty when it cannot be read).
inline std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

}  // namespace simpul

#endif  // SIMPUL_COMMON_BYTE_BUFFER_H_
