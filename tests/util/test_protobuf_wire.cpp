#include <gtest/gtest.h>

#include <string>

#include "util/protobuf_wire.h"

namespace {
std::string hex(const std::string& s) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : s) out += std::string{digits[c >> 4], digits[c & 15], ' '};
  if (!out.empty()) out.pop_back();
  return out;
}
}  // namespace

// The protocol-buffer encoding guide's own examples.
TEST(ProtobufWire, EncodesTheGuidesExamples) {
  EXPECT_EQ(hex(lra::ProtoMessage().varint(1, 150).encoded()), "08 96 01");
  EXPECT_EQ(hex(lra::ProtoMessage().bytes(2, "testing").encoded()), "12 07 74 65 73 74 69 6e 67");
  lra::ProtoMessage inner;
  inner.varint(1, 150);
  EXPECT_EQ(hex(lra::ProtoMessage().message(3, inner).encoded()), "1a 03 08 96 01");
}

TEST(ProtobufWire, FixedWidthFieldsAreLittleEndianIeee) {
  EXPECT_EQ(hex(lra::ProtoMessage().fixed64(1, 1.0).encoded()), "09 00 00 00 00 00 00 f0 3f");
  EXPECT_EQ(hex(lra::ProtoMessage().fixed32(2, 1.0f).encoded()), "15 00 00 80 3f");
  // A negative int64 is ten bytes (two's complement as uint64), as protoc writes it.
  EXPECT_EQ(lra::ProtoMessage().varint(1, static_cast<uint64_t>(-1)).encoded().size(), 11u);
  // A field number past 15 takes a two-byte key.
  EXPECT_EQ(hex(lra::ProtoMessage().varint(16, 1).encoded()), "80 01 01");
}
