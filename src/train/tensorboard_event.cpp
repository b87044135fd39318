#include "train/tensorboard_event.h"

#include <cstring>

#include "util/crc32c.h"
#include "util/protobuf_wire.h"

namespace lra::tensorboard {
namespace {

// tensorflow.Event
enum EventField { kWallTime = 1, kStep = 2, kFileVersion = 3, kSummary = 5 };
// tensorflow.Summary.Value
enum ValueField { kTag = 1, kSimpleValue = 2, kTensor = 8, kMetadata = 9 };
constexpr int kSummaryValue = 1;  // Summary.value
constexpr int kPluginData = 1;    // SummaryMetadata.plugin_data
constexpr int kPluginName = 1;    // SummaryMetadata.PluginData.plugin_name
enum TensorField { kDtype = 1, kTensorShape = 2, kStringVal = 8 };
constexpr uint64_t kDtString = 7;  // tensorflow.DataType.DT_STRING

std::string little_endian(uint64_t v, int bytes) {
  std::string out(static_cast<size_t>(bytes), '\0');
  for (int i = 0; i < bytes; ++i) out[static_cast<size_t>(i)] = static_cast<char>(v >> (8 * i));
  return out;
}

std::string event(double wall_time, int64_t step, const ProtoMessage& summary_value) {
  ProtoMessage summary;
  summary.message(kSummaryValue, summary_value);
  ProtoMessage e;
  e.fixed64(kWallTime, wall_time).varint(kStep, static_cast<uint64_t>(step));
  e.message(kSummary, summary);
  return tfrecord(e.encoded());
}

}  // namespace

std::string tfrecord(std::string_view data) {
  const std::string length = little_endian(data.size(), 8);
  return length + little_endian(masked_crc32c(length), 4) + std::string(data) +
         little_endian(masked_crc32c(data), 4);
}

std::string file_version_event(double wall_time) {
  ProtoMessage e;
  e.fixed64(kWallTime, wall_time).varint(kStep, 0).bytes(kFileVersion, "brain.Event:2");
  return tfrecord(e.encoded());
}

std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value) {
  ProtoMessage v;
  v.bytes(kTag, tag).fixed32(kSimpleValue, value);
  return event(wall_time, step, v);
}

std::string text_event(double wall_time, int64_t step, std::string_view tag,
                       std::string_view markdown) {
  ProtoMessage plugin, metadata, tensor;
  plugin.bytes(kPluginName, "text");
  metadata.message(kPluginData, plugin);
  tensor.varint(kDtype, kDtString)
      .message(kTensorShape, ProtoMessage{})
      .bytes(kStringVal, markdown);
  ProtoMessage v;
  v.bytes(kTag, tag).message(kMetadata, metadata).message(kTensor, tensor);
  return event(wall_time, step, v);
}

}  // namespace lra::tensorboard
