// BufferBytes copies the slices of a gRPC byte buffer into one string.
#include "gateway/byte_buffer.h"

#include <vector>

namespace simpul::gateway {

std::string BufferBytes(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  std::string out;
  if (!buffer.Dump(&slices).ok()) return out;
  for (const grpc::Slice& slice : slices) {
    out.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return out;
}

}  // namespace simpul::gateway
