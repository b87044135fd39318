#include "util/protobuf_wire.h"

#include <cstring>

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

// Fixed-width fields are little-endian, as is every machine this builds for.
ProtoMessage& ProtoMessage::fixed64(int field, double value) {
  tag(field, 1);
  char b[8];
  std::memcpy(b, &value, 8);
  bytes_.append(b, 8);
  return *this;
}

ProtoMessage& ProtoMessage::fixed32(int field, float value) {
  tag(field, 5);
  char b[4];
  std::memcpy(b, &value, 4);
  bytes_.append(b, 4);
  return *this;
}

ProtoMessage& ProtoMessage::bytes(int field, std::string_view value) {
  tag(field, 2);
  raw_varint(value.size());
  bytes_.append(value.data(), value.size());
  return *this;
}

}  // namespace lra
