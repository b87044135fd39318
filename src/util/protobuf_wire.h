// Protocol-buffer wire format, the encoding side only: enough to write the few messages
// TensorBoard reads (Event, Summary) without a protobuf library. A message is the
// concatenation of its fields; a nested message is a length-delimited field holding its bytes.
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace lra {

class ProtoMessage {
 public:
  ProtoMessage& varint(int field, uint64_t value);         // int32/int64/uint64/enum/bool
  ProtoMessage& fixed64(int field, double value);          // double
  ProtoMessage& fixed32(int field, float value);           // float
  ProtoMessage& bytes(int field, std::string_view value);  // string, bytes, nested message
  ProtoMessage& message(int field, const ProtoMessage& m) { return bytes(field, m.bytes_); }
  const std::string& encoded() const { return bytes_; }

 private:
  void tag(int field, int wire_type);
  void raw_varint(uint64_t value);
  // Wire types 1 and 5: the value's bytes as they are in memory (little-endian hosts only).
  void fixed(int field, int wire_type, const void* value, size_t size);
  std::string bytes_;
};

}  // namespace lra
