// BufferBytes: the bytes of a gRPC byte buffer, for the gateway's proxy and its REST front,
// which handle messages as raw bytes.
#ifndef SIMPUL_GATEWAY_BYTE_BUFFER_H_
#define SIMPUL_GATEWAY_BYTE_BUFFER_H_

#include <grpcpp/support/byte_buffer.h>

#include <string>

namespace simpul::gateway {

// BufferBytes is the content of a gRPC byte buffer (empty when it cannot be read).
std::string BufferBytes(const grpc::ByteBuffer& buffer);

}  // namespace simpul::gateway

#endif  // SIMPUL_GATEWAY_BYTE_BUFFER_H_
