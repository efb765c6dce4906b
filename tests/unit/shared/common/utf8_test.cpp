#include "mingus/common/utf8.h"

#include <gtest/gtest.h>

namespace mingus::utf8 {
namespace {

uint32_t Decode(std::string_view text, size_t& length) { return DecodeRune(text, 0, length); }

TEST(Utf8, DecodesOneToFourBytes) {
  size_t length = 9;
  EXPECT_EQ(Decode("a", length), 'a');
  EXPECT_EQ(length, 1);
  EXPECT_EQ(Decode("\xc3\xa9", length), 0xE9u);  // é
  EXPECT_EQ(length, 2);
  EXPECT_EQ(Decode("\xe2\x82\xac", length), 0x20ACu);  // €
  EXPECT_EQ(length, 3);
  EXPECT_EQ(Decode("\xf0\x9f\x98\x80", length), 0x1F600u);
  EXPECT_EQ(length, 4);
}

// As Go's utf8.DecodeRune: U+FFFD, here with length 0, and never the value of a bad form.
TEST(Utf8, InvalidSequencesAreTheReplacementCharacter) {
  for (const std::string_view bad : {"\xff", "\x80", "\xc1\x83", "\xe0\x80\xaf", "\xed\xa0\x80",
                                     "\xf4\x90\x80\x80", "\xc3", "\xe2\x82", "\xc3(" }) {
    size_t length = 9;
    EXPECT_EQ(Decode(bad, length), 0xFFFDu) << testing::PrintToString(std::string(bad));
    EXPECT_EQ(length, 0) << testing::PrintToString(std::string(bad));
  }
  EXPECT_FALSE(IsValidUtf8("overlong \xc1\x83"));
}

TEST(Utf8, AcceptsValidAndRefusesInvalid) {
  EXPECT_TRUE(IsValidUtf8("plain"));
  EXPECT_TRUE(IsValidUtf8("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"));
  EXPECT_FALSE(IsValidUtf8("\xe2\x82"));          // truncated
  EXPECT_FALSE(IsValidUtf8("\xed\xa0\x80"));      // surrogate
  EXPECT_FALSE(IsValidUtf8("\xf4\x90\x80\x80"));  // past U+10FFFF
  EXPECT_FALSE(IsValidUtf8("\x80"));
}

TEST(Utf8, FindsABadByteAnywhereInALongAsciiLine) {
  // ASCII is checked eight bytes at a time: put the bad byte at every offset of the words.
  for (size_t at = 0; at < 40; ++at) {
    std::string line(40, 'a');
    EXPECT_TRUE(IsValidUtf8(line));
    line[at] = '\xff';
    EXPECT_FALSE(IsValidUtf8(line)) << at;
    line.replace(at, 1, "\xc3\xa9");  // a valid two-byte character there
    EXPECT_TRUE(IsValidUtf8(line)) << at;
  }
}

// What Go's strconv.Quote prints (by its rules, written out by hand: no Go toolchain here):
// escapes for controls, quotes, backslashes, invalid bytes and what unicode.IsPrint refuses.
TEST(Utf8, QuotesAsGo) {
  EXPECT_EQ(QuoteGo("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(QuoteGo("\a\b\f\n\r\t\v\x01\x7f"), R"("\a\b\f\n\r\t\v\x01\x7f")");
  EXPECT_EQ(QuoteGo("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"), "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"");
  EXPECT_EQ(QuoteGo("\xc2\x85|\xc2\xad|\xe2\x80\x8b|\xef\xbb\xbf"), R"("\u0085|\u00ad|\u200b|\ufeff")");
  EXPECT_EQ(QuoteGo("\xff|\xc1\x83"), R"("\xff|\xc1\x83")");
}

}  // namespace
}  // namespace mingus::utf8
