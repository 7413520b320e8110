#include "common/logging.h"

#include <cmath>
#include <string>
#include <thread>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace simpul {
namespace {

using ::testing::MatchesRegex;

// ParseJson parses one log line with protobuf's JSON parser (a strict RFC 8259 parser).
google::protobuf::Struct ParseJson(const std::string& line) {
  google::protobuf::Struct out;
  auto status = google::protobuf::util::JsonStringToMessage(line, &out);
  EXPECT_TRUE(status.ok()) << status.ToString() << " in: " << line;
  return out;
}

class LoggingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SetLogSink([this](std::string_view line) {
      absl::MutexLock lock(&mu_);
      lines_.emplace_back(line);
    });
    SetMinLogLevel(LogLevel::kInfo);
    SetLogServiceName("test-service");
  }
  void TearDown() override {
    SetLogSink(nullptr);
    SetMinLogLevel(LogLevel::kInfo);
    SetLogServiceName("");
  }
  std::vector<std::string> Lines() {
    absl::MutexLock lock(&mu_);
    return lines_;
  }

  absl::Mutex mu_;
  std::vector<std::string> lines_;
};

TEST_F(LoggingTest, WritesOneJsonObjectWithStandardKeys) {
  Log(LogLevel::kInfo, "started", {{"port", 50051}, {"ratio", 0.5}, {"ok", true}, {"who", "me"}});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  google::protobuf::Struct json = ParseJson(lines[0]);
  const auto& f = json.fields();
  EXPECT_THAT(f.at("ts").string_value(),
              MatchesRegex("[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z"));
  EXPECT_EQ(f.at("level").string_value(), "info");
  EXPECT_EQ(f.at("service").string_value(), "test-service");
  EXPECT_EQ(f.at("msg").string_value(), "started");
  EXPECT_EQ(f.at("port").number_value(), 50051);
  EXPECT_EQ(f.at("ratio").number_value(), 0.5);
  EXPECT_TRUE(f.at("ok").bool_value());
  EXPECT_EQ(f.at("who").string_value(), "me");
  // Fields follow the standard keys in the order given.
  EXPECT_LT(lines[0].find("\"msg\""), lines[0].find("\"port\""));
  EXPECT_LT(lines[0].find("\"port\""), lines[0].find("\"who\""));
}

TEST_F(LoggingTest, EscapesQuotesNewlinesAndControlCharacters) {
  const std::string nasty = std::string("say \"hi\"\\ \n\r\t\b\f end") + '\x01' + '\x1f' + '\x7f';
  Log(LogLevel::kWarn, nasty, {{"field", nasty}});
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].find('\n'), std::string::npos);
  for (char c : lines[0]) EXPECT_GE(static_cast<unsigned char>(c), 0x20) << lines[0];
  google::protobuf::Struct json = ParseJson(lines[0]);
  EXPECT_EQ(json.fields().at("msg").string_value(), nasty);
  EXPECT_EQ(json.fields().at("field").string_value(), nasty);
  EXPECT_EQ(json.fields().at("level").string_value(), "warn");
}

TEST(JsonEscapeTest, Escapes) {
  EXPECT_EQ(JsonEscape(""), "\"\"");
  EXPECT_EQ(JsonEscape("a\"b\\c"), R"("a\"b\\c")");
  EXPECT_EQ(JsonEscape("\n\r\t"), R"("\n\r\t")");
  EXPECT_EQ(JsonEscape(std::string("\0\x01", 2)), R"("\u0000\u0001")");
  EXPECT_EQ(JsonEscape("Jakarta – Makassar"), "\"Jakarta – Makassar\"");  // UTF-8 kept
  EXPECT_EQ(JsonEscape("bad \xff byte"), R"("bad \ufffd byte")");
  EXPECT_EQ(JsonEscape("cut \xe2\x80"), R"("cut \ufffd\ufffd")");
  EXPECT_EQ(JsonEscape("\xed\xa0\x80"), R"("\ufffd\ufffd\ufffd")");  // a surrogate
}

TEST_F(LoggingTest, InvalidUtf8StillGivesValidJson) {
  Log(LogLevel::kInfo, "bytes \xc3\x28 \xf0\x9f\x98\x80");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(ParseJson(lines[0]).fields().at("msg").string_value(),
            "bytes \xef\xbf\xbd( \xf0\x9f\x98\x80");
}

TEST_F(LoggingTest, LevelFilter) {
  SetMinLogLevel(LogLevel::kWarn);
  Log(LogLevel::kDebug, "debug");
  Log(LogLevel::kInfo, "info");
  Log(LogLevel::kWarn, "warn");
  Log(LogLevel::kError, "error");
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(ParseJson(lines[0]).fields().at("level").string_value(), "warn");
  EXPECT_EQ(ParseJson(lines[1]).fields().at("level").string_value(), "error");
  SetMinLogLevel(LogLevel::kDebug);
  Log(LogLevel::kDebug, "debug");
  ASSERT_EQ(Lines().size(), 3u);
  EXPECT_EQ(ParseJson(Lines()[2]).fields().at("level").string_value(), "debug");
}

TEST_F(LoggingTest, ReservedFieldNamesDoNotShadowStandardKeys) {
  Log(LogLevel::kInfo, "real", {{"msg", "fake"}, {"level", "fake"}});
  google::protobuf::Struct json = ParseJson(Lines().at(0));
  EXPECT_EQ(json.fields().at("msg").string_value(), "real");
  EXPECT_EQ(json.fields().at("level").string_value(), "info");
  EXPECT_EQ(json.fields().at("field_msg").string_value(), "fake");
}

TEST_F(LoggingTest, NonFiniteNumbersBecomeNull) {
  Log(LogLevel::kInfo, "n", {{"nan", std::nan("")}, {"big", int64_t{1} << 60}});
  const std::string line = Lines().at(0);
  EXPECT_NE(line.find("\"nan\":null"), std::string::npos) << line;
  EXPECT_NE(line.find("\"big\":1152921504606846976"), std::string::npos) << line;
  ParseJson(line);
}

TEST_F(LoggingTest, ConcurrentLinesStayWhole) {
  constexpr int kThreads = 8;
  constexpr int kPerThread = 200;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([t] {
      for (int i = 0; i < kPerThread; ++i) {
        Log(LogLevel::kInfo, "concurrent", {{"thread", t}, {"i", i}});
      }
    });
  }
  for (auto& t : threads) t.join();
  std::vector<std::string> lines = Lines();
  ASSERT_EQ(lines.size(), static_cast<size_t>(kThreads * kPerThread));
  for (const auto& line : lines) {
    EXPECT_EQ(ParseJson(line).fields().at("msg").string_value(), "concurrent");
  }
}

TEST(ParseLogLevelTest, AcceptsTheFourNames) {
  LogLevel level = LogLevel::kInfo;
  EXPECT_TRUE(ParseLogLevel("debug", &level));
  EXPECT_EQ(level, LogLevel::kDebug);
  EXPECT_TRUE(ParseLogLevel("warn", &level));
  EXPECT_EQ(level, LogLevel::kWarn);
  EXPECT_TRUE(ParseLogLevel("error", &level));
  EXPECT_EQ(level, LogLevel::kError);
  EXPECT_TRUE(ParseLogLevel("info", &level));
  EXPECT_EQ(level, LogLevel::kInfo);
  EXPECT_FALSE(ParseLogLevel("INFO", &level));
  EXPECT_FALSE(ParseLogLevel("warning", &level));
  EXPECT_FALSE(ParseLogLevel("", &level));
}

TEST(LogToStderrTest, WritesLineWithNewline) {
  SetLogSink(nullptr);
  ::testing::internal::CaptureStderr();
  Log(LogLevel::kError, "to stderr");
  std::string out = ::testing::internal::GetCapturedStderr();
  ASSERT_FALSE(out.empty());
  EXPECT_EQ(out.back(), '\n');
  EXPECT_EQ(ParseJson(out.substr(0, out.size() - 1)).fields().at("msg").string_value(),
            "to stderr");
}

}  // namespace
}  // namespace simpul
