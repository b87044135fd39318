#include <gtest/gtest.h>

#include <string>

#include "util/crc32c.h"

// Check values of RFC 3720 (iSCSI), appendix B.4, and the CRC catalogue's "123456789".
TEST(Crc32c, MatchesThePublishedCheckValues) {
  EXPECT_EQ(lra::crc32c("123456789"), 0xE3069283u);
  EXPECT_EQ(lra::crc32c(""), 0u);
  EXPECT_EQ(lra::crc32c(std::string(32, '\0')), 0x8A9136AAu);
  EXPECT_EQ(lra::crc32c(std::string(32, '\xFF')), 0x62A8AB43u);
  std::string ascending;
  for (int i = 0; i < 32; ++i) ascending.push_back(static_cast<char>(i));
  EXPECT_EQ(lra::crc32c(ascending), 0x46DD794Eu);
}

TEST(Crc32c, MaskIsARotationByFifteenPlusTheTfRecordConstant) {
  const uint32_t c = 0xE3069283u;
  EXPECT_EQ(lra::masked_crc32c("123456789"), ((c >> 15) | (c << 17)) + 0xa282ead8u);
}
