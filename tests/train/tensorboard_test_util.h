// A reader for the event files lra_train writes, independent of the writer's code: checks each
// TFRecord frame's CRCs and decodes the Event fields the trainer uses.
#pragma once
#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "util/crc32c.h"

namespace lra::test {

struct DecodedEvent {
  int64_t step = -1;
  std::string file_version, tag, text, plugin;
  double value = 0.0;
  bool has_value = false;
};

// Protocol-buffer fields of one message: (field number, wire type, varint or the bytes).
struct WireField {
  int number = 0, type = 0;
  uint64_t scalar = 0;
  std::string bytes;
};

inline uint64_t read_varint(const std::string& s, size_t& i) {
  uint64_t v = 0;
  for (int shift = 0; i < s.size(); shift += 7) {
    const auto b = static_cast<unsigned char>(s[i++]);
    v |= static_cast<uint64_t>(b & 0x7F) << shift;
    if (!(b & 0x80)) return v;
  }
  throw std::runtime_error("truncated varint");
}

inline std::vector<WireField> wire_fields(const std::string& s) {
  std::vector<WireField> out;
  for (size_t i = 0; i < s.size();) {
    const uint64_t key = read_varint(s, i);
    WireField f;
    f.number = static_cast<int>(key >> 3), f.type = static_cast<int>(key & 7);
    const size_t width = f.type == 1 ? 8 : f.type == 5 ? 4 : 0;
    if (f.type == 0) {
      f.scalar = read_varint(s, i);
    } else if (f.type == 2) {
      const uint64_t n = read_varint(s, i);
      if (i + n > s.size()) throw std::runtime_error("truncated length-delimited field");
      f.bytes = s.substr(i, n);
      i += n;
    } else if (width > 0 && i + width <= s.size()) {
      f.bytes = s.substr(i, width);
      i += width;
    } else {
      throw std::runtime_error("unexpected wire type " + std::to_string(f.type));
    }
    out.push_back(f);
  }
  return out;
}

inline uint32_t le32(const std::string& s, size_t at) {
  uint32_t v = 0;
  std::memcpy(&v, s.data() + at, 4);
  return v;
}

inline void decode_value(const std::string& bytes, DecodedEvent& e) {
  for (const auto& f : wire_fields(bytes)) {
    if (f.number == 1) e.tag = f.bytes;
    if (f.number == 2) {
      float v = 0;
      std::memcpy(&v, f.bytes.data(), 4);
      e.value = v, e.has_value = true;
    }
    if (f.number == 8)  // TensorProto.string_val
      for (const auto& t : wire_fields(f.bytes))
        if (t.number == 8) e.text = t.bytes;
    if (f.number == 9)  // SummaryMetadata.plugin_data.plugin_name
      for (const auto& p : wire_fields(f.bytes))
        for (const auto& n : wire_fields(p.bytes))
          if (n.number == 1) e.plugin = n.bytes;
  }
}

inline std::vector<DecodedEvent> read_events(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  const std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<DecodedEvent> events;
  for (size_t i = 0; i < data.size();) {
    if (i + 12 > data.size()) throw std::runtime_error("truncated frame header");
    uint64_t n = 0;
    std::memcpy(&n, data.data() + i, 8);
    if (le32(data, i + 8) != masked_crc32c(data.substr(i, 8)))
      throw std::runtime_error("bad length CRC");
    if (i + 16 + n > data.size()) throw std::runtime_error("truncated record");
    const std::string record = data.substr(i + 12, n);
    if (le32(data, i + 12 + n) != masked_crc32c(record)) throw std::runtime_error("bad data CRC");
    i += 16 + n;
    DecodedEvent e;
    for (const auto& f : wire_fields(record)) {
      if (f.number == 2) e.step = static_cast<int64_t>(f.scalar);
      if (f.number == 3) e.file_version = f.bytes;
      if (f.number == 5)
        for (const auto& v : wire_fields(f.bytes))
          if (v.number == 1) decode_value(v.bytes, e);
    }
    events.push_back(e);
  }
  return events;
}

}  // namespace lra::test
