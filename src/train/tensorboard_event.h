// TensorBoard's event-file records, encoded by hand: a TFRecord frame around one serialized
// tensorflow.Event. Field numbers are those of tensorboard/compat/proto/{event,summary,tensor,
// tensor_shape}.proto; TensorBoard reads legacy `simple_value` scalars as its scalars plugin.
#pragma once
#include <cstdint>
#include <string>
#include <string_view>

namespace lra::tensorboard {

// uint64 length, masked CRC-32C of the length, the data, masked CRC-32C of the data.
std::string tfrecord(std::string_view data);

// The first event of every file: file_version "brain.Event:2".
std::string file_version_event(double wall_time);
std::string scalar_event(double wall_time, int64_t step, std::string_view tag, float value);
// A text-plugin summary: a scalar DT_STRING tensor rendered as Markdown.
std::string text_event(double wall_time, int64_t step, std::string_view tag,
                       std::string_view markdown);

}  // namespace lra::tensorboard
