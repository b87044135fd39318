// Raw-format readers on small fixtures written here, each followed by a prepared round trip.
#include <gtest/gtest.h>
#include <torch/torch.h>
#include <zlib.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <set>

#include "data/listops.h"
#include "data/prepared.h"
#include "data/raw/aan_tsv.h"
#include "data/raw/idx.h"
#include "data/raw/image.h"
#include "data/raw/imdb.h"
#include "data/raw/listops_tsv.h"
#include "data/raw/pathfinder.h"
#include "data/raw/png.h"
#include "data/raw/sha256.h"
#include "data/raw/tsv_lines.h"
#include "data_test_util.h"

namespace lra {
namespace {

namespace fs = std::filesystem;
using test::expect_error;
using test::TempDir;
using test::write_text;

// write_prepared + load_prepared gives back exactly what the reader produced.
void expect_round_trip(const raw::Prepared& p, const TempDir& dir) {
  write_prepared(dir / "prepared", p.data, p.meta);
  const TaskData r = load_prepared(dir / "prepared");
  EXPECT_EQ(r.task, p.data.task);
  EXPECT_EQ(r.vocab_size, p.data.vocab_size);
  EXPECT_EQ(r.num_classes, p.data.num_classes);
  EXPECT_EQ(r.max_length, p.data.max_length);
  const Split* a[] = {&p.data.train, &p.data.val, &p.data.test};
  const Split* b[] = {&r.train, &r.val, &r.test};
  for (int i = 0; i < 3; ++i) {
    EXPECT_TRUE(torch::equal(a[i]->tokens.to(torch::kInt64), b[i]->tokens.to(torch::kInt64)));
    EXPECT_TRUE(torch::equal(a[i]->labels, b[i]->labels));
    if (a[i]->tokens2.defined()) {
      EXPECT_TRUE(torch::equal(a[i]->tokens2.to(torch::kInt64), b[i]->tokens2.to(torch::kInt64)));
    }
  }
}

TEST(RawSha256Test, KnownVectors) {
  raw::Sha256 a;
  a.update("abc");
  EXPECT_EQ(a.hex(), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  raw::Sha256 b;  // two blocks, fed in uneven pieces
  b.update("abcdbcdecdefdefgefghfghighij");
  b.update("hijkijkljklmklmnlmnomnopnopq");
  EXPECT_EQ(b.hex(), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
  raw::Sha256 e;
  EXPECT_EQ(e.hex(), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

// ---- ListOps ----

std::string listops_tsv(const std::vector<std::vector<uint8_t>>& exprs) {
  std::string s = "Source\tTarget\n";
  for (const auto& e : exprs)
    s += listops::to_official_string(e) + "\t" + std::to_string(listops::evaluate(e)) + "\n";
  return s;
}

void write_listops(const TempDir& dir) {
  using namespace listops;
  const std::vector<std::vector<uint8_t>> exprs = {
      {kMax, kDigit0 + 2, kDigit0 + 9, kClose},
      {kMin, kDigit0 + 4, kMax, kDigit0 + 1, kDigit0 + 7, kClose, kClose},
      {kSum, kDigit0 + 8, kDigit0 + 5, kClose},
      {kMed, kDigit0 + 1, kDigit0 + 3, kDigit0 + 9, kClose}};
  write_text(dir / "listops-1000/basic_train.tsv", listops_tsv(exprs));
  write_text(dir / "listops-1000/basic_val.tsv", listops_tsv({exprs[1], exprs[2]}));
  write_text(dir / "listops-1000/basic_test.tsv", listops_tsv({exprs[3]}));
}

TEST(RawListOpsTest, FixedAndPeerTokenizations) {
  TempDir dir;
  write_listops(dir);
  raw::ListOpsOptions o;
  o.max_length = 12;
  auto fixed = raw::prepare_listops(dir / "listops-1000", o);
  EXPECT_EQ(fixed.data.vocab_size, 16);
  EXPECT_EQ(fixed.data.train.size(), 4);
  EXPECT_EQ(fixed.data.test.size(), 1);
  using namespace listops;
  auto row = fixed.data.train.tokens[1].slice(0, 0, 8);
  EXPECT_TRUE(
      torch::equal(row, torch::tensor({kMin, uint8_t(kDigit0 + 4), kMax, uint8_t(kDigit0 + 1),
                                       uint8_t(kDigit0 + 7), kClose, kClose, kPad},
                                      torch::kUInt8)));
  EXPECT_EQ(fixed.data.train.labels[1].item<int64_t>(), 4);  // MIN(4, MAX(1, 7))
  EXPECT_EQ(fixed.meta["variant"]["tokenization"], "fixed");
  EXPECT_EQ(fixed.meta["sources"].size(), 3u);
  EXPECT_EQ(fixed.meta["sources"][0]["sha256"].get<std::string>().size(), 64u);
  expect_round_trip(fixed, dir);

  o.tokenization = "peer";
  auto peer = raw::prepare_listops(dir / "listops-1000", o);
  EXPECT_EQ(peer.data.vocab_size, 15);
  EXPECT_EQ(peer.data.train.tokens.eq(kClose).sum().item<int64_t>(), 0);
  EXPECT_EQ(peer.data.train.tokens[0][0].item<int>(), kMax);
  EXPECT_EQ(peer.data.train.tokens[0][2].item<int>(), kDigit0 + 9);
  EXPECT_EQ(peer.data.train.tokens[0][3].item<int>(), 0);
  EXPECT_EQ(raw::tokenize_listops_peer("( ( [SM 1 ) 2 ] )"),
            (std::vector<uint8_t>{kSum, kDigit0 + 1, kDigit0 + 2}));

  o.max_length = 3;  // longer expressions are cut and counted
  auto cut = raw::prepare_listops(dir / "listops-1000", o);
  EXPECT_GT(cut.meta["truncated"].get<int64_t>(), 0);
}

TEST(RawListOpsTest, MalformedFilesNameFileAndLine) {
  TempDir dir;
  write_listops(dir);
  const std::string val = dir / "listops-1000/basic_val.tsv";
  const std::string good = test::read_text(val);
  raw::ListOpsOptions o;
  write_text(val, good + "( [MAX 1 2 ] )\tx\n");
  expect_error([&] { raw::prepare_listops(dir / "listops-1000", o); },
               {"basic_val.tsv:4:", "Target 'x' is not a digit"});
  write_text(val, good + "( [MAX 1 2 ] )\n");
  expect_error([&] { raw::prepare_listops(dir / "listops-1000", o); },
               {"basic_val.tsv:4:", "expected 2 tab-separated fields"});
  write_text(val, good + "( [FOO 1 2 ] )\t3\n");
  expect_error([&] { raw::prepare_listops(dir / "listops-1000", o); },
               {"basic_val.tsv:4:", "unknown token '[FOO'"});
  write_text(val, "Expr\tLabel\n");
  expect_error([&] { raw::prepare_listops(dir / "listops-1000", o); },
               {"basic_val.tsv:1:", "header"});
  fs::remove(val);
  expect_error([&] { raw::prepare_listops(dir / "listops-1000", o); },
               {"basic_val.tsv", "not found"});
}

TEST(RawListOpsTest, HostileTokensAreQuotedWholeAndShort) {
  TempDir dir;
  write_listops(dir);
  const std::string val = dir / "listops-1000/basic_val.tsv";
  const std::string good = test::read_text(val);
  write_text(val, good + "[MAX 2" + std::string(1, '\0') + "7 ]\t2\n");
  expect_error([&] { raw::prepare_listops(dir / "listops-1000", {}); },
               {"basic_val.tsv:4:", "unknown token '2\\x007'"});
  write_text(val, good + "[MAX " + std::string(100000, '9') + " ]\t2\n");
  expect_error([&] { raw::prepare_listops(dir / "listops-1000", {}); },
               {"basic_val.tsv:4:", "'" + std::string(40, '9') + "'... (100000 bytes)"});
}

// ---- Text (IMDB) ----

void write_imdb(const TempDir& dir) {
  for (std::string split : {"train", "test"})
    for (int i = 0; i < 3; ++i) {
      write_text(dir / ("aclImdb/" + split + "/pos/" + std::to_string(i) + "_9.txt"),
                 "  Great movie " + split + std::to_string(i) + "!\n");
      write_text(dir / ("aclImdb/" + split + "/neg/" + std::to_string(i) + "_2.txt"),
                 "Bad \xc3\xa9 film " + std::string(static_cast<size_t>(i) * 10, 'x'));
    }
  write_text(dir / "aclImdb/train/unsup/0_0.txt", "ignored");
}

TEST(RawTextTest, ImdbBytesPlusOneAndValEqualsTest) {
  TempDir dir;
  write_imdb(dir);
  raw::TextOptions o;
  o.max_length = 20;
  auto p = raw::prepare_text(dir.str(), o);
  EXPECT_EQ(p.data.vocab_size, 257);
  EXPECT_EQ(p.data.train.size(), 6);
  EXPECT_EQ(p.data.test.size(), 6);
  EXPECT_TRUE(torch::equal(p.data.val.tokens, p.data.test.tokens));
  EXPECT_EQ(p.data.train.labels.sum().item<int64_t>(), 3);
  EXPECT_EQ(p.data.train.tokens.scalar_type(), torch::kInt16);
  // Find the review "Great movie train0!" (stripped) and check its ids.
  const std::string want = "Great movie train0!";
  bool found = false;
  for (int64_t i = 0; i < 6; ++i) {
    auto row = p.data.train.tokens[i];
    std::string s;
    for (int64_t j = 0; j < 20 && row[j].item<int>() > 0; ++j)
      s.push_back(static_cast<char>(row[j].item<int>() - 1));
    if (s == want) {
      found = true;
      EXPECT_EQ(p.data.train.labels[i].item<int64_t>(), 1);
      EXPECT_EQ(row[19].item<int>(), 0);
    }
    if (s.rfind("Bad ", 0) == 0) {
      EXPECT_EQ(row[4].item<int>(), 0xc3 + 1);  // UTF-8 bytes, not characters
      EXPECT_EQ(p.data.train.labels[i].item<int64_t>(), 0);
    }
  }
  EXPECT_TRUE(found);
  EXPECT_EQ(p.meta["truncated"], 4);  // the two longest negative reviews of each split
  EXPECT_NE(p.meta["notes"][0].get<std::string>().find("val = test"), std::string::npos);
  expect_round_trip(p, dir);
  expect_error([&] { raw::prepare_text(dir / "nothing", o); }, {"nothing", "not found"});
  test::remove_tree(dir / "aclImdb/test/neg");
  expect_error([&] { raw::prepare_text(dir.str(), o); }, {"test/neg", "not found"});
}

// ---- Retrieval (AAN) ----

TEST(RawRetrievalTest, AanPairsAndBadLines) {
  TempDir dir;
  const std::string body =
      "1.0\tA1\tB1\tfirst paper\tsecond paper text\n"
      "0\tA2\tB2\tabc\t" +
      std::string(50, 'z') + "\n";
  write_text(dir / "tsv_data/new_aan_pairs.train.tsv", body + body);
  write_text(dir / "tsv_data/new_aan_pairs.eval.tsv", body);
  write_text(dir / "tsv_data/new_aan_pairs.test.tsv", body);
  raw::RetrievalOptions o;
  o.max_length = 16;
  auto p = raw::prepare_retrieval(dir / "tsv_data", o);
  EXPECT_EQ(p.data.train.size(), 4);
  EXPECT_EQ(p.data.val.name, "val");
  EXPECT_EQ(p.data.val.size(), 2);
  EXPECT_EQ(p.data.train.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(p.data.train.labels[1].item<int64_t>(), 0);
  EXPECT_EQ(p.data.train.tokens[1][0].item<int>(), 'a' + 1);
  EXPECT_EQ(p.data.train.tokens[1][3].item<int>(), 0);
  EXPECT_EQ(p.data.train.tokens2[1][15].item<int>(), 'z' + 1);
  expect_round_trip(p, dir);
  o.max_bytes = 2;  // the byte cut comes before max_length
  auto cut = raw::prepare_retrieval(dir / "tsv_data", o);
  EXPECT_EQ(cut.data.train.tokens[0][2].item<int>(), 0);

  write_text(dir / "tsv_data/new_aan_pairs.eval.tsv", body + "maybe\tA\tB\tx\ty\n");
  expect_error([&] { raw::prepare_retrieval(dir / "tsv_data", o); },
               {"new_aan_pairs.eval.tsv:3:", "label 'maybe' is not a number"});
  write_text(dir / "tsv_data/new_aan_pairs.eval.tsv", body + "1\tA\tB\tx\n");
  expect_error([&] { raw::prepare_retrieval(dir / "tsv_data", o); },
               {"new_aan_pairs.eval.tsv:3:", "expected 5 tab-separated fields", "got 4"});
  write_text(dir / "tsv_data/new_aan_pairs.eval.tsv", body + "2\tA\tB\tx\ty\n");
  expect_error([&] { raw::prepare_retrieval(dir / "tsv_data", o); }, {":3:", "not 0 or 1"});
}

TEST(RawRetrievalTest, FractionalLabelsAreRefusedNotCut) {
  TempDir dir;
  const std::string body = "1.0\tA1\tB1\tx\ty\n0\tA2\tB2\tabc\tdef\n";
  for (const char* split : {"train", "eval", "test"})
    write_text(dir / (std::string("tsv_data/new_aan_pairs.") + split + ".tsv"), body);
  EXPECT_EQ(raw::prepare_retrieval(dir / "tsv_data", {}).data.val.size(), 2);
  write_text(dir / "tsv_data/new_aan_pairs.eval.tsv", body + "0.9\tA\tB\tx\ty\n");
  expect_error([&] { raw::prepare_retrieval(dir / "tsv_data", {}); },
               {"new_aan_pairs.eval.tsv:3:", "label 0.9 is not 0 or 1"});
}

// ---- Image: CIFAR-10 binary ----

TEST(RawImageTest, CifarGrayIsTensorflowRounding) {
  EXPECT_EQ(raw::cifar_gray(0, 0, 0), 0);
  EXPECT_EQ(raw::cifar_gray(255, 255, 255), 255);
  EXPECT_EQ(raw::cifar_gray(255, 0, 0), 76);   // 0.2989 * 255.5 = 76.37
  EXPECT_EQ(raw::cifar_gray(0, 255, 0), 149);  // 0.5870 * 255.5 = 149.98
  EXPECT_EQ(raw::cifar_gray(0, 0, 255), 29);   // 0.1140 * 255.5 = 29.13
  EXPECT_EQ(raw::cifar_gray(100, 100, 100), 100);
}

std::string cifar_record(uint8_t label, uint8_t r, uint8_t g, uint8_t b) {
  std::string rec(1, static_cast<char>(label));
  rec += std::string(1024, static_cast<char>(r)) + std::string(1024, static_cast<char>(g)) +
         std::string(1024, static_cast<char>(b));
  return rec;
}

TEST(RawImageTest, CifarBatchesSplitAndOffset) {
  TempDir dir;
  for (int b = 1; b <= 5; ++b)
    write_text(dir / ("cifar-10-batches-bin/data_batch_" + std::to_string(b) + ".bin"),
               cifar_record(static_cast<uint8_t>(b), 255, 0, 0) +
                   cifar_record(static_cast<uint8_t>(b + 1), 0, 0, 0));
  write_text(
      dir / "cifar-10-batches-bin/test_batch.bin",
      cifar_record(9, 0, 255, 0) + cifar_record(0, 0, 0, 255) + cifar_record(3, 255, 255, 255));
  auto p = raw::prepare_image_cifar(dir.str(), {});
  EXPECT_EQ(p.data.max_length, 1024);
  EXPECT_EQ(p.data.vocab_size, 256);
  EXPECT_EQ(p.data.train.size(), 9);
  EXPECT_EQ(p.data.val.size(), 1);
  EXPECT_EQ(p.data.test.size(), 3);
  EXPECT_EQ(p.data.train.labels[0].item<int64_t>(), 1);
  EXPECT_EQ(p.data.val.labels[0].item<int64_t>(), 6);  // last record of data_batch_5
  EXPECT_EQ(p.data.train.tokens[0][500].item<int>(), 76);
  EXPECT_EQ(p.data.test.tokens[0][0].item<int>(), 149);
  EXPECT_EQ(p.meta["variant"]["pixel_offset"], 0);
  expect_round_trip(p, dir);

  raw::ImageOptions one;
  one.pixel_offset = 1;
  auto q = raw::prepare_image_cifar(dir.str(), one);
  EXPECT_EQ(q.data.vocab_size, 257);
  EXPECT_EQ(q.data.train.tokens[1][0].item<int>(), 1);  // black is id 1, not pad
  EXPECT_EQ(q.data.test.tokens[2][0].item<int>(), 256);

  write_text(dir / "cifar-10-batches-bin/data_batch_3.bin", cifar_record(1, 0, 0, 0) + "xyz");
  expect_error([&] { raw::prepare_image_cifar(dir.str(), {}); },
               {"data_batch_3.bin", "not a positive multiple of 3073"});
  write_text(dir / "cifar-10-batches-bin/data_batch_3.bin", cifar_record(42, 0, 0, 0));
  expect_error([&] { raw::prepare_image_cifar(dir.str(), {}); }, {"data_batch_3.bin", "label 42"});
  write_text(dir / "cifar-10-batches-bin/data_batch_3.bin", cifar_record(1, 0, 0, 0));
  fs::remove(dir / "cifar-10-batches-bin/test_batch.bin");
  expect_error([&] { raw::prepare_image_cifar(dir.str(), {}); }, {"test_batch.bin", "not found"});
}

// ---- Image: IDX ----

std::string idx_bytes(const std::vector<int32_t>& dims, const std::vector<uint8_t>& data) {
  std::string s("\0\0\x08", 3);
  s.push_back(static_cast<char>(dims.size()));
  for (int32_t d : dims)
    for (int sh = 24; sh >= 0; sh -= 8) s.push_back(static_cast<char>((d >> sh) & 0xFF));
  s.append(data.begin(), data.end());
  return s;
}

void write_gz(const std::string& path, const std::string& content) {
  gzFile f = gzopen(path.c_str(), "wb");
  ASSERT_NE(f, nullptr);
  gzwrite(f, content.data(), static_cast<unsigned>(content.size()));
  gzclose(f);
}

void write_idx_set(const TempDir& dir, bool gz) {
  std::vector<uint8_t> train(20 * 16), train_labels(20), test(4 * 16), test_labels(4);
  for (size_t i = 0; i < train.size(); ++i) train[i] = static_cast<uint8_t>(i % 251);
  for (size_t i = 0; i < 20; ++i) train_labels[i] = static_cast<uint8_t>(i % 3);
  for (size_t i = 0; i < test.size(); ++i) test[i] = static_cast<uint8_t>(255 - i);
  for (size_t i = 0; i < 4; ++i) test_labels[i] = static_cast<uint8_t>(i % 3);
  fs::create_directories(dir / "idx");
  auto put = [&](const std::string& name, const std::string& bytes) {
    if (gz)
      write_gz(dir / ("idx/" + name + ".gz"), bytes);
    else
      write_text(dir / ("idx/" + name), bytes);
  };
  put("train-images-idx3-ubyte", idx_bytes({20, 4, 4}, train));
  put("train-labels-idx1-ubyte", idx_bytes({20}, train_labels));
  put("t10k-images-idx3-ubyte", idx_bytes({4, 4, 4}, test));
  put("t10k-labels-idx1-ubyte", idx_bytes({4}, test_labels));
}

TEST(RawImageTest, IdxPlainAndGzip) {
  for (bool gz : {false, true}) {
    TempDir dir;
    write_idx_set(dir, gz);
    auto p = raw::prepare_image_idx(dir / "idx", {});
    EXPECT_EQ(p.data.max_length, 16);
    EXPECT_EQ(p.data.num_classes, 3);
    EXPECT_EQ(p.data.train.size(), 18);
    EXPECT_EQ(p.data.val.size(), 2);
    EXPECT_EQ(p.data.test.size(), 4);
    EXPECT_EQ(p.data.train.tokens[1][2].item<int>(), 18);
    EXPECT_EQ(p.data.val.labels[0].item<int64_t>(), 18 % 3);
    EXPECT_EQ(p.data.test.tokens[0][0].item<int>(), 255);
    expect_round_trip(p, dir);
  }
}

TEST(RawImageTest, IdxErrors) {
  TempDir dir;
  write_idx_set(dir, false);
  const std::string images = dir / "idx/t10k-images-idx3-ubyte";
  const std::string good = test::read_text(images);
  write_text(images, good.substr(0, good.size() - 5));
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); },
               {"t10k-images-idx3-ubyte", "truncated", "64 bytes", "file has 59"});
  write_text(images, "JUNKJUNKJUNK");
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); }, {"not an IDX file"});
  write_text(dir / "idx/t10k-labels-idx1-ubyte", idx_bytes({3}, {0, 1, 2}));
  write_text(images, good);
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); }, {"has 3 labels", "4 images"});
  fs::remove(images);
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); },
               {"t10k-images-idx3-ubyte[.gz]: not found"});
  write_gz(dir / "idx/t10k-images-idx3-ubyte.gz", good);
  const std::string gz = test::read_text(dir / "idx/t10k-images-idx3-ubyte.gz");
  write_text(dir / "idx/t10k-images-idx3-ubyte.gz", gz.substr(0, gz.size() / 2));
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); }, {"t10k-images-idx3-ubyte.gz"});
}

TEST(RawImageTest, FashionMnistDebianPackage) {
  const std::string dir = "/usr/share/datasets/fashion-mnist";
  if (!fs::exists(dir + "/train-images-idx3-ubyte.gz"))
    GTEST_SKIP() << "install the Debian package dataset-fashion-mnist";
  auto p = raw::prepare_image_idx(dir, {});
  EXPECT_EQ(p.data.max_length, 784);
  EXPECT_EQ(p.data.num_classes, 10);
  EXPECT_EQ(p.data.train.size(), 54000);
  EXPECT_EQ(p.data.val.size(), 6000);
  EXPECT_EQ(p.data.test.size(), 10000);
  TempDir out;
  const auto t0 = std::chrono::steady_clock::now();
  expect_round_trip(p, out);  // write_prepared + load_prepared of 70,000 x 784
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  RecordProperty("write_and_load_seconds", std::to_string(s));
  EXPECT_LT(s, 20.0);
}

// ---- Pathfinder (PNG + text metadata) ----

// 12 listed 6x6 images, sample_5 zero bytes; pixel 0 = 10 * index + 1, label = index % 2.
void write_pathfinder(const TempDir& dir, const std::string& difficulty) {
  const std::string root = dir / ("pathfinder32/" + difficulty);
  fs::create_directories(root + "/imgs/0");
  fs::create_directories(root + "/imgs/1");
  std::string meta0, meta1;
  for (int i = 0; i < 12; ++i) {
    const std::string batch = i < 8 ? "0" : "1";
    const std::string name = "sample_" + std::to_string(i) + ".png";
    const std::string path = root + "/imgs/" + batch + "/" + name;
    if (i == 5) {
      write_text(path, "");
    } else {
      raw::GrayImage img{6, 6, std::vector<uint8_t>(36, 0)};
      img.pixels[0] = static_cast<uint8_t>(10 * i + 1);
      img.pixels[35] = 200;
      raw::write_png_gray(path, img);
    }
    (i < 8 ? meta0 : meta1) += "imgs/" + batch + " " + name + " " + std::to_string(i) + " " +
                               std::to_string(i % 2) + " 1 14 4 2 0.5 1 2\n";
  }
  write_text(root + "/metadata/0.npy", meta0);
  write_text(root + "/metadata/1.npy", meta1);
}

TEST(RawPathfinderTest, PngTreeSeededSplitSkipsEmptyFiles) {
  TempDir dir;
  write_pathfinder(dir, "curv_baseline");
  raw::PathfinderOptions o;
  o.difficulty = "curv_baseline";
  o.seed = 3;
  auto p = raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o);
  EXPECT_EQ(p.data.max_length, 36);
  EXPECT_EQ(p.data.num_classes, 2);
  EXPECT_EQ(p.data.train.size(), 8);  // 11 readable: 8 / 1 / 2
  EXPECT_EQ(p.data.val.size(), 1);
  EXPECT_EQ(p.data.test.size(), 2);
  EXPECT_EQ(p.meta["skipped_empty_png"].size(), 1u);
  EXPECT_EQ(p.meta["skipped_empty_png"][0], "imgs/0/sample_5.png");
  std::set<int> seen;
  for (const Split* s : {&p.data.train, &p.data.val, &p.data.test})
    for (int64_t r = 0; r < s->size(); ++r) {
      const int index = (s->tokens[r][0].item<int>() - 1) / 10;
      EXPECT_EQ(s->labels[r].item<int64_t>(), index % 2) << "image " << index;
      EXPECT_EQ(s->tokens[r][35].item<int>(), 200);
      seen.insert(index);
    }
  EXPECT_EQ(seen.size(), 11u);
  EXPECT_EQ(seen.count(5), 0u);
  expect_round_trip(p, dir);

  auto again = raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o);
  EXPECT_TRUE(torch::equal(again.data.train.tokens, p.data.train.tokens));
  o.seed = 4;
  o.pixel_offset = 1;
  auto other = raw::prepare_pathfinder(dir / "pathfinder32/curv_baseline", "pathx", o);
  EXPECT_EQ(other.data.task, "pathx");
  EXPECT_EQ(other.data.vocab_size, 257);
  EXPECT_GE(other.data.train.tokens.min().item<int>(), 1);
  EXPECT_FALSE(torch::equal(other.data.train.tokens.sub(1).to(torch::kUInt8), p.data.train.tokens));
}

TEST(RawPathfinderTest, BadMetadataAndImages) {
  TempDir dir;
  write_pathfinder(dir, "curv_contour_length_14");
  const std::string root = dir / "pathfinder32/curv_contour_length_14";
  raw::PathfinderOptions o;
  const std::string meta1 = test::read_text(root + "/metadata/1.npy");
  write_text(root + "/metadata/1.npy", meta1 + "imgs/1 sample_99.png 99 yes 1\n");
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"metadata/1.npy:5:", "label (field 4) 'yes'"});
  write_text(root + "/metadata/1.npy", meta1 + "imgs/1 sample_99.png\n");
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"metadata/1.npy:5:", "at least 4"});
  write_text(root + "/metadata/1.npy", meta1 + "imgs/1 sample_99.png 99 1 1\n");
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"sample_99.png", "not found"});
  write_text(root + "/metadata/1.npy", meta1);
  write_text(root + "/imgs/1/sample_9.png", "\x89PNG\r\n\x1a\n garbage garbage");
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"sample_9.png", "corrupt PNG"});
  write_text(root + "/imgs/1/sample_9.png", "GIF89a not a png");
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"sample_9.png", "not a PNG"});
  raw::write_png_gray(root + "/imgs/1/sample_9.png", {5, 6, std::vector<uint8_t>(30, 1)});
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"sample_9.png", "5x6", "6x6"});
  o.difficulty = "curv_contour_length_9";
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"curv_contour_length_9/metadata", "not found"});
}

// ---- Hostile inputs: sizes in headers, paths in metadata, lines without end ----

// `png` (a PNG written by write_png_gray) with its header claiming width x height: IHDR's data
// starts at byte 16, and its CRC (over type and data, bytes 12-28) follows at 29.
std::string claim_png_size(std::string png, uint32_t width, uint32_t height) {
  auto put32 = [&png](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) png[at + i] = static_cast<char>((v >> (24 - 8 * i)) & 0xFF);
  };
  put32(16, width);
  put32(20, height);
  put32(29, static_cast<uint32_t>(crc32(0, reinterpret_cast<const Bytef*>(png.data() + 12), 17)));
  return png;
}

TEST(RawPngTest, HeaderClaimingMorePixelsThanTheLimitIsRefusedBeforeDecoding) {
  TempDir dir;
  raw::write_png_gray(dir / "small.png", {6, 6, std::vector<uint8_t>(36, 7)});
  const std::string small = test::read_text(dir / "small.png");
  EXPECT_EQ(raw::decode_png_gray(small, "small.png").pixels, std::vector<uint8_t>(36, 7));
  // 5000 x 5000 = 25M pixels, over the default 4096 x 4096, in a file of ~100 bytes.
  const std::string big = claim_png_size(small, 5000, 5000);
  EXPECT_LT(big.size(), 200u);
  expect_error([&] { raw::decode_png_gray(big, "big.png"); },
               {"big.png: PNG header says 5000x5000 = 25000000 pixels", "16777216", "max_pixels"});
  // The limit is a parameter: the 6x6 image itself passes at 36 pixels and not at 35.
  EXPECT_EQ(raw::decode_png_gray(small, "small.png", 36).width, 6);
  expect_error([&] { raw::decode_png_gray(small, "small.png", 35); },
               {"small.png", "6x6 = 36 pixels", "more than the 35"});
  // A side beyond the limit is libpng's own refusal (user limits), still naming the file.
  expect_error([&] { raw::decode_png_gray(claim_png_size(small, 1, 0x7FFFFFFF), "tall.png"); },
               {"tall.png", "corrupt PNG"});
}

TEST(RawPathfinderTest, ImagesLargerThanMaxPixelsAreRefused) {
  TempDir dir;
  write_pathfinder(dir, "curv_baseline");
  raw::PathfinderOptions o;
  o.difficulty = "curv_baseline";
  EXPECT_EQ(o.max_pixels, 1024 * 1024);
  const std::string img = dir / "pathfinder32/curv_baseline/imgs/0/sample_0.png";
  write_text(img, claim_png_size(test::read_text(img), 2048, 2048));
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"sample_0.png", "2048x2048", "more than the 1048576"});
  raw::write_png_gray(img, {6, 6, std::vector<uint8_t>(36, 1)});
  o.max_pixels = 35;
  expect_error([&] { raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); },
               {"sample_0.png", "6x6 = 36 pixels", "more than the 35"});
}

TEST(RawPathfinderTest, MetadataPathsMustStayInsideTheInput) {
  TempDir dir;
  write_pathfinder(dir, "curv_baseline");
  const std::string root = dir / "pathfinder32/curv_baseline";
  const std::string meta0 = root + "/metadata/0.npy", good = test::read_text(meta0);
  raw::PathfinderOptions o;
  o.difficulty = "curv_baseline";
  auto prepare = [&] { return raw::prepare_pathfinder(dir / "pathfinder32", "pathfinder", o); };
  // A PNG outside --input that a hostile metadata file points at.
  raw::write_png_gray(dir / "outside.png", {6, 6, std::vector<uint8_t>(36, 9)});
  ASSERT_TRUE(fs::exists(root + "/../../outside.png"));  // from curv_baseline/ to dir/
  for (const auto& [line, problem] : std::vector<std::pair<std::string, std::string>>{
           {"../.. outside.png 0 1", "path '../../outside.png' leads outside the input"},
           {"imgs/0/../../../.. outside.png 0 1", "leads outside the input folder"},
           {"/etc passwd 0 1", "absolute path '/etc/passwd'"},
           {std::string("imgs/0 sample_0.png") + '\0' + ".txt 0 1", "path with a NUL byte"},
           {"imgs/0 /etc/passwd 0 1", "absolute path '/etc/passwd'"}}) {
    write_text(meta0, good + line + "\n");
    expect_error(prepare, {"metadata/0.npy:9:", problem, "refusing to read it"});
  }
  // ".." that stays inside --input is fine: the other difficulty's images are inside it too.
  write_pathfinder(dir, "curv_contour_length_9");
  write_text(meta0, good + "../curv_contour_length_9/imgs/0 sample_0.png 0 1\n");
  EXPECT_EQ(prepare().meta["sources"][0]["images_listed"], 13);
  // A symbolic link inside the tree that leads out of it is refused too.
  fs::create_symlink(dir / "outside.png", root + "/imgs/0/link.png");
  write_text(meta0, good + "imgs/0 link.png 0 1\n");
  expect_error(prepare,
               {"metadata/0.npy:9:", "path 'imgs/0/link.png'", "symbolic link", "outside.png"});
  write_text(meta0, good);
  EXPECT_EQ(prepare().data.train.size(), 8);
}

TEST(RawTextTest, ReviewLinkingOutsideTheInputIsRefused) {
  TempDir dir;
  write_imdb(dir);
  write_text(dir / "secret.txt", "not a review");
  fs::create_symlink(dir / "secret.txt", dir / "aclImdb/train/pos/9_9.txt");
  expect_error([&] { raw::prepare_text(dir / "aclImdb", {}); },
               {"9_9.txt", "symbolic link", "secret.txt", "refusing to read it"});
  fs::remove(dir / "aclImdb/train/pos/9_9.txt");  // a link that stays inside is a review
  fs::create_symlink(dir / "aclImdb/train/pos/0_9.txt", dir / "aclImdb/train/pos/9_9.txt");
  EXPECT_EQ(raw::prepare_text(dir / "aclImdb", {}).data.train.size(), 7);
}

TEST(RawImageTest, IdxSizesInTheHeaderAreCheckedBeforeReading) {
  TempDir dir;
  write_idx_set(dir, false);
  const std::string images = dir / "idx/t10k-images-idx3-ubyte";
  // 2^32-1 cubed overflows 64 bits; the 76-byte file cannot hold it.
  write_text(images, idx_bytes({-1, -1, -1}, std::vector<uint8_t>(64, 0)));
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); },
               {"t10k-images-idx3-ubyte", "truncated",
                "header says shape 4294967295x4294967295x4294967295", "file has 64"});
  write_text(images, idx_bytes({0, 4, 4}, {}));
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); },
               {"t10k-images-idx3-ubyte", "0 images of 4x4", "at least one"});
  write_text(images, idx_bytes({4, 0, 4}, {}));
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); }, {"4 images of 0x4"});
  fs::remove(images);
  // gzip: a header claiming 10^12 bytes in a file of ~100 bytes is refused before inflating.
  write_gz(images + ".gz", idx_bytes({1000000, 1000, 1000}, std::vector<uint8_t>(100, 0)));
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); },
               {"t10k-images-idx3-ubyte.gz", "1000000x1000x1000 = 1000000000000 bytes",
                "gzip file can inflate to"});
  // Megabytes after the promised data: refused as trailing bytes after reading one more byte.
  std::vector<uint8_t> data(4 * 16 + (8 << 20), 0);
  write_gz(images + ".gz", idx_bytes({4, 4, 4}, data));
  expect_error([&] { raw::prepare_image_idx(dir / "idx", {}); },
               {"t10k-images-idx3-ubyte.gz", "trailing bytes", "64 bytes of data"});
  EXPECT_EQ(raw::read_maybe_gz(images + ".gz").size(), 16 + data.size());
}

TEST(RawLineReaderTest, LongLinesAreReadWholeUpToTheLimitAndRefusedBeyond) {
  TempDir dir;
  // Lines across the reader's 64 KiB buffer, exactly at its edge, CRLF, NUL bytes, an empty
  // line and a last line without "\n".
  const std::string a(200000, 'a'), b(65535, 'b'), c(65536, 'c');
  const std::string nul("x\0y", 3);
  write_text(dir / "lines.tsv", a + "\n" + b + "\n" + c + "\r\n\n" + nul + "\nend");
  raw::LineReader in(dir / "lines.tsv", {});
  std::string line;
  for (const std::string& want : {a, b, c, std::string(), nul, std::string("end")}) {
    ASSERT_TRUE(in.next(line));
    EXPECT_EQ(line, want) << "line " << in.line_number();
  }
  EXPECT_FALSE(in.next(line));
  EXPECT_EQ(in.line_number(), 6);

  // Errors quote hostile lines: their control bytes are escaped, so a NUL does not end them.
  expect_error([&] { in.fail(std::string("token 'a") + '\0' + "b\x1b[2J' unknown"); },
               {"lines.tsv:6: token 'a\\x00b\\x1B[2J' unknown"});

  raw::LineReader limited(dir / "lines.tsv", {}, 100000);
  expect_error([&] { limited.next(line); },
               {"lines.tsv:1:", "line longer than 100000 bytes", "right file"});
  // A file with no line break at all is refused by the default limit before it is all read.
  {
    std::ofstream big(dir / "one_line.tsv", std::ios::binary);
    const std::string block(1 << 20, 'z');
    for (int64_t i = 0; i <= raw::kMaxLineBytes >> 20; ++i) big << block;
  }
  raw::LineReader huge(dir / "one_line.tsv", {});
  expect_error([&] { huge.next(line); }, {"one_line.tsv:1:", "line longer than 67108864"});
}

}  // namespace
}  // namespace lra
