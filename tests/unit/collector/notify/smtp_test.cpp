#include "mingus/collector/notify/smtp.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <functional>
#include <sstream>

namespace mingus::collector::notify {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const MessageStamp kStamp{.date = "Sun, 22 Jun 2025 10:30:00 +0000",
                          .message_id = "<1.abc@localhost>",
                          .boundary = "=_mingus_b0"};

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t start = 0;
  while (start < text.size()) {
    const auto end = text.find("\r\n", start);
    lines.push_back(text.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 2;
  }
  return lines;
}

// ---------------------------------------------------------------------------- formatting

TEST(DotStuff, DoublesLeadingDotsAndNormalisesLineEndings) {
  EXPECT_EQ(DotStuff("a\n.b\r\n..c\rd"), "a\r\n..b\r\n...c\r\nd\r\n");
  EXPECT_EQ(DotStuff("."), "..\r\n");
  EXPECT_EQ(DotStuff("x.\r\n.\r\n"), "x.\r\n..\r\n");  // a lone "." would end DATA early
  EXPECT_EQ(DotStuff(""), "");
  EXPECT_EQ(DotStuff("\n\n"), "\r\n\r\n");
}

TEST(QuotedPrintable, EncodesNonAsciiEqualsAndTrailingSpace) {
  EXPECT_EQ(QuotedPrintable("h\xc3\xa9llo = world \nline\ttab\t"),
            "h=C3=A9llo =3D world=20\r\nline\ttab=09");
  EXPECT_EQ(QuotedPrintable("a\r\n\r\nb"), "a\r\n\r\nb");
}

TEST(QuotedPrintable, SoftBreaksKeepLinesShortAndReversible) {
  const std::string input = std::string(100, 'a') + "\xe2\x9c\x93" + std::string(80, '=');
  const std::string encoded = QuotedPrintable(input);
  std::string decoded_soft;  // soft breaks removed
  for (const auto& line : Lines(encoded)) {
    EXPECT_LE(line.size(), 76u) << line;
    decoded_soft += line.back() == '=' ? line.substr(0, line.size() - 1) : line;
  }
  EXPECT_EQ(
      decoded_soft, std::string(100, 'a') + "=E2=9C=93" + [] {
        std::string s;
        for (int i = 0; i < 80; ++i) s += "=3D";
        return s;
      }());
  // Encoded triplets are never split by a soft break.
  EXPECT_THAT(encoded, Not(HasSubstr("=\r\n3D")));
}

TEST(FormatHeader, AsciiStaysAndNonAsciiWordsAreEncoded) {
  EXPECT_EQ(FormatHeader("Subject", "[FIRING:1] HighLatency"),
            "Subject: [FIRING:1] HighLatency\r\n");
  // A run of non-ASCII words is one encoded text, its space inside as '_'.
  EXPECT_EQ(FormatHeader("Subject", "alert D\xc3\xa9j\xc3\xa0 v\xc3\xbc now"),
            "Subject: alert =?UTF-8?Q?D=C3=A9j=C3=A0_v=C3=BC?= now\r\n");
  EXPECT_EQ(FormatHeader("To", "J\xc3\xb6rg <j@example.org>"),
            "To: =?UTF-8?Q?J=C3=B6rg?= <j@example.org>\r\n");
  // Something that only looks like an encoded word is encoded so that it reads back as typed.
  EXPECT_EQ(FormatHeader("Subject", "=?x?="), "Subject: =?UTF-8?Q?=3D=3Fx=3F=3D?=\r\n");
}

TEST(FormatHeader, LineBreaksCannotInjectHeaders) {
  EXPECT_EQ(FormatHeader("Subject", "hi\r\nBcc: victim@example.org"),
            "Subject: hi  Bcc: victim@example.org\r\n");
  EXPECT_EQ(FormatHeader("Subject", "a\nb").find("\r\n"),
            FormatHeader("Subject", "a\nb").size() - 2);
}

TEST(FormatHeader, LongValuesFoldAtSpacesAndEncodedWordsStayShort) {
  std::string value;
  for (int i = 0; i < 30; ++i) value += "word" + std::to_string(i) + " ";
  value += "\xc3\xbc" + std::string(100, 'x');  // one long non-ASCII word
  const std::string header = FormatHeader("Subject", value);
  std::string unfolded;
  for (const auto& line : Lines(header)) {
    EXPECT_LE(line.size(), 78u) << line;
    unfolded += line;
  }
  EXPECT_THAT(unfolded, StartsWith("Subject: word0 word1 word2"));
  EXPECT_THAT(unfolded, HasSubstr("word29 =?UTF-8?Q?=C3=BCxxx"));
  // The long word became several encoded words, each at most 75 characters.
  size_t words = 0;
  for (auto at = unfolded.find("=?UTF-8?Q?"); at != std::string::npos;
       at = unfolded.find("=?UTF-8?Q?", at + 1)) {
    const auto end = unfolded.find("?=", at + 10);
    EXPECT_LE(end + 2 - at, 75u);
    ++words;
  }
  EXPECT_GE(words, 2u);
}

TEST(FormatDate, IsRfc5322InUtc) {
  EXPECT_EQ(FormatDate(std::chrono::system_clock::from_time_t(0)),
            "Thu, 01 Jan 1970 00:00:00 +0000");
  EXPECT_EQ(FormatDate(std::chrono::system_clock::from_time_t(1750588200)),
            "Sun, 22 Jun 2025 10:30:00 +0000");
}

TEST(FormatMessage, TextOnlyIsOnePartWithStampedHeaders) {
  EmailMessage message{.from = "am@example.org",
                       .to = {"ops@example.org"},
                       .headers = {{"From", "am@example.org"},
                                   {"Subject", "[FIRING:1] Disk"},
                                   {"Content-Type", "text/evil"}},
                       .text = "disk full\n.\n"};
  const auto formatted = FormatMessage(message, kStamp);
  ASSERT_TRUE(formatted.ok()) << formatted.message();
  EXPECT_EQ(*formatted,
            "From: am@example.org\r\n"
            "Subject: [FIRING:1] Disk\r\n"
            "Date: Sun, 22 Jun 2025 10:30:00 +0000\r\n"
            "Message-Id: <1.abc@localhost>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "disk full\r\n.\r\n\r\n");
}

TEST(FormatMessage, TextAndHtmlAreMultipartAlternativeHtmlLast) {
  EmailMessage message{
      .from = "am@example.org",
      .to = {"ops@example.org"},
      .headers = {{"Date", "Mon, 23 Jun 2025 00:00:00 +0000"}, {"Message-ID", "<given@x>"}},
      .text = "plain",
      .html = "<b>bold</b>"};
  const auto formatted = FormatMessage(message, kStamp);
  ASSERT_TRUE(formatted.ok()) << formatted.message();
  EXPECT_EQ(*formatted,
            "Date: Mon, 23 Jun 2025 00:00:00 +0000\r\n"
            "Message-ID: <given@x>\r\n"
            "MIME-Version: 1.0\r\n"
            "Content-Type: multipart/alternative; boundary=\"=_mingus_b0\"\r\n"
            "\r\n"
            "--=_mingus_b0\r\n"
            "Content-Type: text/plain; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "plain\r\n"
            "--=_mingus_b0\r\n"
            "Content-Type: text/html; charset=UTF-8\r\n"
            "Content-Transfer-Encoding: quoted-printable\r\n"
            "\r\n"
            "<b>bold</b>\r\n"
            "--=_mingus_b0--\r\n");
  message.text.clear();
  EXPECT_THAT(*FormatMessage(message, kStamp), HasSubstr("Content-Type: text/html; charset=UTF-8"));
  EXPECT_THAT(*FormatMessage(message, kStamp), Not(HasSubstr("multipart")));
}

TEST(FormatMessage, RefusesBadHeaderNames) {
  EmailMessage message{.from = "a@x", .to = {"b@x"}, .headers = {{"Bad Name", "v"}}};
  EXPECT_THAT(FormatMessage(message, kStamp).message(), HasSubstr("header name 'Bad Name'"));
  message.headers = {{"X:Y", "v"}};
  EXPECT_FALSE(FormatMessage(message, kStamp).ok());
}

TEST(MakeStamp, BoundariesAndIdsDiffer) {
  const auto now = std::chrono::system_clock::now();
  const auto a = MakeStamp(now, "collector.example");
  const auto b = MakeStamp(now, "collector.example");
  EXPECT_NE(a.boundary, b.boundary);
  EXPECT_NE(a.message_id, b.message_id);
  EXPECT_THAT(a.message_id, testing::EndsWith("@collector.example>"));
  EXPECT_THAT(a.boundary, StartsWith("=_"));
}

// ---------------------------------------------------------------------------- conversation

// A scripted SMTP server behind a net::Stream: `respond` answers each command line, `data`
// answers the message once the terminating "." arrives.
class ScriptedServer : public net::Stream {
 public:
  std::function<std::string(const std::string&)> respond;
  std::function<std::string(const std::string&)> data = [](const std::string&) {
    return "250 2.0.0 queued\r\n";
  };
  std::vector<std::string> commands;  // as received, TLS upgrades as "<TLS>"
  std::string message;                // DATA as received, dot-stuffed, without the final "."
  std::string handshake_error;        // StartTls fails with it when set
  std::string pending = "220 mail.example ESMTP\r\n";
  bool tls_ = false;

  Status Write(std::string_view bytes) override {
    received_ += bytes;
    while (true) {
      if (in_data_) {
        const auto end = received_.find("\r\n.\r\n");
        if (end == std::string::npos) return OkStatus();
        message = received_.substr(0, end + 2);
        received_.erase(0, end + 5);
        in_data_ = false;
        pending += data(message);
        continue;
      }
      const auto end = received_.find("\r\n");
      if (end == std::string::npos) return OkStatus();
      const std::string line = received_.substr(0, end);
      received_.erase(0, end + 2);
      commands.push_back(line);
      const std::string reply = respond(line);
      in_data_ = line == "DATA" && reply.rfind("354", 0) == 0;
      pending += reply;
    }
  }
  StatusOr<size_t> ReadSome(char* buffer, size_t size) override {
    if (pending.empty()) return size_t{0};  // the server hung up
    const size_t n = std::min(size, pending.size());
    pending.copy(buffer, n);
    pending.erase(0, n);
    return n;
  }
  Status StartTls(const net::TlsOptions&) override {
    if (!handshake_error.empty()) return Status::Error(handshake_error);
    commands.push_back("<TLS>");
    tls_ = true;
    return OkStatus();
  }
  bool tls() const override { return tls_; }

 private:
  std::string received_;
  bool in_data_ = false;
};

// A Postfix-like server: STARTTLS before TLS, AUTH PLAIN LOGIN after it.
std::string Postfix(ScriptedServer& server, const std::string& line) {
  if (line.rfind("EHLO", 0) == 0) {
    return server.tls() ? "250-mail.example\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n"
                        : "250-mail.example\r\n250-STARTTLS\r\n250 8BITMIME\r\n";
  }
  if (line == "STARTTLS") return "220 2.0.0 Ready to start TLS\r\n";
  if (line.rfind("AUTH PLAIN ", 0) == 0) return "235 2.7.0 Authentication successful\r\n";
  if (line == "DATA") return "354 End data with <CR><LF>.<CR><LF>\r\n";
  if (line == "QUIT") return "221 2.0.0 Bye\r\n";
  return "250 2.1.0 Ok\r\n";
}

SmtpOptions Options() {
  SmtpOptions options;
  options.smarthost = "mail.example:587";
  options.hello = "collector.example";
  options.auth_username = "alertmanager";
  options.auth_password = "s3cret-pw";
  return options;
}

const EmailMessage kMail{.from = "am@example.org",
                         .to = {"a@example.org", "b@example.org"},
                         .headers = {{"Subject", "[FIRING:1] Disk"}},
                         .text = "disk full\n.hidden line\n"};

TEST(SendMailOver, StartTlsThenAuthThenEnvelopeThenDottedData) {
  ScriptedServer server;
  server.respond = [&](const std::string& line) { return Postfix(server, line); };
  const auto result = SendMailOver(server, Options(), kMail, kStamp);
  ASSERT_TRUE(result.ok()) << result.message;
  // \0alertmanager\0s3cret-pw
  EXPECT_THAT(
      server.commands,
      ElementsAre("EHLO collector.example", "STARTTLS", "<TLS>", "EHLO collector.example",
                  "AUTH PLAIN AGFsZXJ0bWFuYWdlcgBzM2NyZXQtcHc=", "MAIL FROM:<am@example.org>",
                  "RCPT TO:<a@example.org>", "RCPT TO:<b@example.org>", "DATA", "QUIT"));
  EXPECT_THAT(server.message, HasSubstr("Subject: [FIRING:1] Disk\r\n"));
  EXPECT_THAT(server.message, HasSubstr("\r\n\r\ndisk full\r\n..hidden line\r\n"));
}

TEST(SendMailOver, AuthLoginWhenPlainIsNotOffered) {
  ScriptedServer server;
  server.respond = [&](const std::string& line) {
    if (line.rfind("EHLO", 0) == 0) return std::string("250-mail.example\r\n250 AUTH LOGIN\r\n");
    if (line == "AUTH LOGIN") return std::string("334 VXNlcm5hbWU6\r\n");
    if (line == "YWxlcnRtYW5hZ2Vy") return std::string("334 UGFzc3dvcmQ6\r\n");
    if (line == "czNjcmV0LXB3") return std::string("235 ok\r\n");
    return Postfix(server, line);
  };
  server.tls_ = true;  // as after implicit TLS
  const auto result = SendMailOver(server, Options(), kMail, kStamp);
  ASSERT_TRUE(result.ok()) << result.message;
  EXPECT_THAT(server.commands, testing::Contains("czNjcmV0LXB3"));
}

TEST(SendMailOver, RepliesAreClassifiedAndNamed) {
  ScriptedServer rejected;
  rejected.respond = [&](const std::string& line) {
    if (line == "RCPT TO:<b@example.org>")
      return std::string("550 5.1.1 <b@example.org>: no such user\r\n");
    return Postfix(rejected, line);
  };
  auto result = SendMailOver(rejected, Options(), kMail, kStamp);
  EXPECT_TRUE(result.permanent());
  EXPECT_EQ(result.reply_code, 550);
  EXPECT_EQ(
      result.message,
      "smtp mail.example:587: RCPT TO <b@example.org>: 550 5.1.1 <b@example.org>: no such user");
  EXPECT_EQ(rejected.commands.back(), "RCPT TO:<b@example.org>");  // no DATA after a refusal

  ScriptedServer greylisting;
  greylisting.respond = [&](const std::string& line) {
    if (line.rfind("MAIL FROM", 0) == 0)
      return std::string("451-4.7.1 greylisted,\r\n451 try later\r\n");
    return Postfix(greylisting, line);
  };
  result = SendMailOver(greylisting, Options(), kMail, kStamp);
  EXPECT_TRUE(result.temporary());
  EXPECT_EQ(result.reply_code, 451);
  EXPECT_EQ(result.message,
            "smtp mail.example:587: MAIL FROM <am@example.org>: 451 4.7.1 greylisted, try later");

  ScriptedServer bad_password;
  bad_password.respond = [&](const std::string& line) {
    // A careless server that echoes what it got must not leak the password.
    if (line.rfind("AUTH PLAIN", 0) == 0)
      return "535 5.7.8 bad credentials " + line + " s3cret-pw\r\n";
    return Postfix(bad_password, line);
  };
  result = SendMailOver(bad_password, Options(), kMail, kStamp);
  EXPECT_TRUE(result.permanent());
  EXPECT_THAT(result.message,
              StartsWith("smtp mail.example:587: AUTH PLAIN: 535 5.7.8 bad credentials"));
  EXPECT_THAT(result.message, Not(HasSubstr("s3cret-pw")));
  EXPECT_THAT(result.message, Not(HasSubstr("AGFsZXJ0bWFuYWdlcgBzM2NyZXQtcHc=")));

  ScriptedServer data_refused;
  data_refused.respond = [&](const std::string& line) { return Postfix(data_refused, line); };
  data_refused.data = [](const std::string&) { return "554 5.7.1 spam\r\n"; };
  result = SendMailOver(data_refused, Options(), kMail, kStamp);
  EXPECT_TRUE(result.permanent());
  EXPECT_EQ(result.message, "smtp mail.example:587: DATA: 554 5.7.1 spam");
}

TEST(SendMailOver, TlsPolicies) {
  // No STARTTLS offered: refused when required, plain text (and no AUTH to a remote host)
  // otherwise.
  ScriptedServer plain;
  plain.respond = [&](const std::string& line) {
    if (line.rfind("EHLO", 0) == 0) return std::string("250-mail.example\r\n250 AUTH PLAIN\r\n");
    return Postfix(plain, line);
  };
  auto result = SendMailOver(plain, Options(), kMail, kStamp);
  EXPECT_TRUE(result.permanent());
  EXPECT_THAT(result.message, HasSubstr("STARTTLS: TLS is required"));

  SmtpOptions options = Options();
  options.starttls = StartTls::kOpportunistic;
  ScriptedServer plain2;
  plain2.respond = plain.respond = [&](const std::string& line) {
    if (line.rfind("EHLO", 0) == 0) return std::string("250-mail.example\r\n250 AUTH PLAIN\r\n");
    return Postfix(plain2, line);
  };
  result = SendMailOver(plain2, options, kMail, kStamp);
  EXPECT_TRUE(result.permanent());
  EXPECT_THAT(result.message, HasSubstr("AUTH: refusing to send credentials"));
  for (const auto& command : plain2.commands) EXPECT_THAT(command, Not(StartsWith("AUTH")));

  // To a loopback smarthost, credentials may go without TLS (Go's net/smtp rule).
  options.smarthost = "127.0.0.1:2525";
  ScriptedServer local;
  local.respond = [&](const std::string& line) {
    if (line.rfind("EHLO", 0) == 0) return std::string("250-localhost\r\n250 AUTH PLAIN\r\n");
    return Postfix(local, line);
  };
  EXPECT_TRUE(SendMailOver(local, options, kMail, kStamp).ok());

  // kNever ignores an offered STARTTLS.
  options.starttls = StartTls::kNever;
  options.auth_username.clear();
  ScriptedServer never;
  never.respond = [&](const std::string& line) { return Postfix(never, line); };
  EXPECT_TRUE(SendMailOver(never, options, kMail, kStamp).ok());
  EXPECT_THAT(never.commands, Not(testing::Contains("STARTTLS")));

  // A failed handshake is temporary and named.
  ScriptedServer broken;
  broken.respond = [&](const std::string& line) { return Postfix(broken, line); };
  broken.handshake_error = "certificate verify failed (self-signed certificate)";
  result = SendMailOver(broken, Options(), kMail, kStamp);
  EXPECT_TRUE(result.temporary());
  EXPECT_EQ(
      result.message,
      "smtp mail.example:587: TLS handshake: certificate verify failed (self-signed certificate)");

  // Port 465: TLS first, before the greeting is read.
  options = Options();
  options.smarthost = "mail.example:465";
  ScriptedServer smtps;
  smtps.respond = [&](const std::string& line) { return Postfix(smtps, line); };
  ASSERT_TRUE(SendMailOver(smtps, options, kMail, kStamp).ok());
  EXPECT_EQ(smtps.commands.front(), "<TLS>");
  EXPECT_THAT(smtps.commands, Not(testing::Contains("STARTTLS")));
}

TEST(SendMailOver, BrokenServersAndOldServers) {
  ScriptedServer hangs_up;
  hangs_up.respond = [&](const std::string& line) {
    return line.rfind("MAIL", 0) == 0 ? std::string() : Postfix(hangs_up, line);
  };
  auto result = SendMailOver(hangs_up, Options(), kMail, kStamp);
  EXPECT_TRUE(result.temporary());
  EXPECT_EQ(result.message,
            "smtp mail.example:587: MAIL FROM <am@example.org>: connection closed by the server");

  ScriptedServer garbage;
  garbage.pending = "HTTP/1.1 400 Bad Request\r\n";
  result = SendMailOver(garbage, Options(), kMail, kStamp);
  EXPECT_TRUE(result.temporary());
  EXPECT_THAT(result.message, HasSubstr("greeting: not an SMTP reply: 'HTTP/1.1 400 Bad Request'"));

  ScriptedServer busy;
  busy.pending = "554 5.3.2 not accepting mail\r\n";
  EXPECT_TRUE(SendMailOver(busy, Options(), kMail, kStamp).permanent());

  // No ESMTP: HELO, then no STARTTLS and no AUTH to offer.
  SmtpOptions options = Options();
  options.starttls = StartTls::kOpportunistic;
  ScriptedServer old;
  old.respond = [&](const std::string& line) {
    if (line.rfind("EHLO", 0) == 0) return std::string("502 5.5.2 command not recognized\r\n");
    return Postfix(old, line);
  };
  ASSERT_TRUE(SendMailOver(old, options, kMail, kStamp).ok());
  EXPECT_EQ(old.commands[1], "HELO collector.example");
}

TEST(SendMailOver, BadInputIsPermanentBeforeAnythingIsSent) {
  ScriptedServer server;
  server.respond = [&](const std::string& line) { return Postfix(server, line); };
  EmailMessage mail = kMail;
  mail.to.push_back("evil@x>\r\nRCPT TO:<more@x");
  EXPECT_TRUE(SendMailOver(server, Options(), mail, kStamp).permanent());
  mail = kMail;
  mail.to.clear();
  EXPECT_THAT(SendMailOver(server, Options(), mail, kStamp).message, HasSubstr("no recipients"));
  SmtpOptions options = Options();
  options.smarthost = "mail.example";
  EXPECT_THAT(SendMailOver(server, options, kMail, kStamp).message, HasSubstr("missing ':port'"));
  EXPECT_TRUE(server.commands.empty());
}

TEST(SendMail, UnreachableServerIsTemporary) {
  SmtpOptions options = Options();
  options.smarthost = "127.0.0.1:1";
  options.timeout = std::chrono::milliseconds(2000);
  const auto result = SendMail(options, kMail);
  EXPECT_TRUE(result.temporary());
  EXPECT_THAT(result.message, StartsWith("smtp 127.0.0.1:1: connect: "));
}

}  // namespace
}  // namespace mingus::collector::notify
