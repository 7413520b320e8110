#include "common/byte_buffer.h"

#include <memory>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace simpul {
namespace {

std::string Bytes(const grpc::ByteBuffer& buffer) { return BufferBytes(buffer); }

TEST(ByteBufferTest, HandsOverTheStringWithoutCopyingIt) {
  std::string bytes(100000, 'x');
  bytes[7] = '\0';  // serialized messages hold any byte
  const std::string expected = bytes;
  const char* data = bytes.data();
  grpc::ByteBuffer buffer = ByteBufferOf(std::move(bytes));
  std::vector<grpc::Slice> slices;
  ASSERT_TRUE(buffer.Dump(&slices).ok());
  ASSERT_EQ(slices.size(), 1u);
  EXPECT_EQ(reinterpret_cast<const char*>(slices[0].begin()), data);  // the same memory
  EXPECT_EQ(Bytes(buffer), expected);
  EXPECT_EQ(Bytes(ByteBufferOf(std::string())), "");
}

TEST(ByteBufferTest, SharedBytesLiveAsLongAsAnyBufferOfThem) {
  auto shared = std::make_shared<const std::string>("cached answer");
  std::weak_ptr<const std::string> watch = shared;
  auto first = std::make_unique<grpc::ByteBuffer>(ByteBufferOf(shared));
  auto second = std::make_unique<grpc::ByteBuffer>(ByteBufferOf(shared));
  shared.reset();  // the cache forgets the entry
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(Bytes(*first), "cached answer");
  first.reset();
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(Bytes(*second), "cached answer");
  second.reset();
  EXPECT_TRUE(watch.expired());  // released with the last buffer
}

TEST(ByteBufferTest, BufferBytesJoinsEverySlice) {
  grpc::Slice slices[] = {grpc::Slice(std::string("simpul ")), grpc::Slice(std::string("knot")),
                          grpc::Slice(std::string(1, '\0'))};
  const grpc::ByteBuffer buffer(slices, 3);
  EXPECT_EQ(BufferBytes(buffer), std::string("simpul knot\0", 12));
  EXPECT_EQ(BufferBytes(grpc::ByteBuffer()), "");
}

}  // namespace
}  // namespace simpul
