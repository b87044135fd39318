#include "util/protobuf_wire.h"

namespace lra {

void ProtoMessage::raw_varint(uint64_t value) {
  while (value >= 0x80) {
    bytes_.push_back(static_cast<char>((value & 0x7F) | 0x80));
    value >>= 7;
  }
  bytes_.push_back(static_cast<char>(value));
}

void ProtoMessage::tag(int field, int wire_type) {
  raw_varint((static_cast<uint64_t>(field) << 3) | static_cast<uint64_t>(wire_type));
}

ProtoMessage& ProtoMessage::varint(int field, uint64_t value) {
  tag(field, 0);
  raw_varint(value);
  return *this;
}

void ProtoMessage::fixed(int field, int wire_type, const void* value, size_t size) {
  tag(field, wire_type);
  bytes_.append(static_cast<const char*>(value), size);
}

ProtoMessage& ProtoMessage::fixed64(int field, double value) {
  fixed(field, 1, &value, sizeof value);
  return *this;
}

ProtoMessage& ProtoMessage::fixed32(int field, float value) {
  fixed(field, 5, &value, sizeof value);
  return *this;
}

ProtoMessage& ProtoMessage::bytes(int field, std::string_view value) {
  tag(field, 2);
  raw_varint(value.size());
  bytes_.append(value.data(), value.size());
  return *this;
}

}  // namespace lra
