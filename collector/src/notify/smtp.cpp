#include "mingus/collector/notify/smtp.h"

#include <fmt/format.h>

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <cctype>
#include <ctime>
#include <optional>
#include <random>

namespace mingus::collector::notify {

namespace {

constexpr size_t kFoldColumn = 78;      // RFC 5322 2.1.1's recommended line length
constexpr size_t kEncodedWordMax = 75;  // RFC 2047 2
constexpr size_t kQpLineMax = 76;       // RFC 2045 6.7 (5)

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

std::string Hex2(unsigned char c) {
  constexpr char kDigits[] = "0123456789ABCDEF";
  return {'=', kDigits[c >> 4], kDigits[c & 15]};
}

// A token (a run of non-space characters) that cannot go into a header as it is.
bool NeedsEncoding(std::string_view token) {
  for (const char c : token) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x80 || (u < 0x20 && c != '\t') || u == 0x7f) return true;
  }
  // Text that looks like an encoded word would be decoded by the reader: encode it.
  return token.find("=?") != std::string_view::npos;
}

// Length of the UTF-8 sequence a lead byte starts (1 for anything that is not a lead byte).
size_t Utf8Length(unsigned char lead) {
  if (lead >= 0xf0 && lead < 0xf8) return 4;
  if (lead >= 0xe0) return lead < 0xf0 ? 3 : 1;
  if (lead >= 0xc0) return 2;
  return 1;
}

// RFC 2047 Q encoded words for `text` (spaces included), each at most 75 characters, never
// splitting a UTF-8 sequence.
std::vector<std::string> EncodedWords(std::string_view text) {
  constexpr std::string_view kPrefix = "=?UTF-8?Q?";
  constexpr std::string_view kSuffix = "?=";
  const size_t budget = kEncodedWordMax - kPrefix.size() - kSuffix.size();
  std::vector<std::string> words;
  std::string current;
  for (size_t i = 0; i < text.size();) {
    const size_t length =
        std::min(Utf8Length(static_cast<unsigned char>(text[i])), text.size() - i);
    std::string encoded;
    for (size_t j = i; j < i + length; ++j) {
      const auto c = static_cast<unsigned char>(text[j]);
      if (std::isalnum(c) || c == '!' || c == '*' || c == '+' || c == '-' || c == '/') {
        encoded.push_back(static_cast<char>(c));
      } else if (c == ' ') {
        encoded.push_back('_');
      } else {
        encoded += Hex2(c);
      }
    }
    if (!current.empty() && current.size() + encoded.size() > budget) {
      words.push_back(fmt::format("{}{}{}", kPrefix, current, kSuffix));
      current.clear();
    }
    current += encoded;
    i += length;
  }
  if (!current.empty()) words.push_back(fmt::format("{}{}{}", kPrefix, current, kSuffix));
  return words;
}

std::vector<std::string_view> SplitSpaces(std::string_view text) {
  std::vector<std::string_view> tokens;
  size_t start = 0;
  while (true) {
    const auto space = text.find(' ', start);
    tokens.push_back(text.substr(start, space - start));
    if (space == std::string_view::npos) break;
    start = space + 1;
  }
  return tokens;
}

std::string Lower(std::string_view text) {
  std::string out(text);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

bool ValidHeaderName(std::string_view name) {
  if (name.empty() || name.size() > 76) return false;
  return std::all_of(name.begin(), name.end(),
                     [](char c) { return c > ' ' && c < 0x7f && c != ':'; });
}

std::string BodyPart(std::string_view content_type, std::string_view body) {
  return fmt::format(
      "Content-Type: {}; charset=UTF-8\r\nContent-Transfer-Encoding: "
      "quoted-printable\r\n\r\n{}\r\n",
      content_type, QuotedPrintable(body));
}

}  // namespace

std::string QuotedPrintable(std::string_view text) {
  std::string out;
  size_t column = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (c == '\r' || c == '\n') {  // a hard line break, whatever the input's convention
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      out += "\r\n";
      column = 0;
      continue;
    }
    const bool line_end = i + 1 == text.size() || text[i + 1] == '\r' || text[i + 1] == '\n';
    const auto u = static_cast<unsigned char>(c);
    std::string encoded;
    if (c == ' ' || c == '\t') {
      encoded = line_end ? Hex2(u) : std::string(1, c);  // trailing white space is not kept
    } else if (u >= 33 && u <= 126 && c != '=') {
      encoded = std::string(1, c);
    } else {
      encoded = Hex2(u);
    }
    // A soft break ("=" at the end) when the line would pass 76 characters; the last
    // character of a line may use the 76th column itself.
    const size_t limit = line_end ? kQpLineMax : kQpLineMax - 1;
    if (column + encoded.size() > limit) {
      out += "=\r\n";
      column = 0;
    }
    out += encoded;
    column += encoded.size();
  }
  return out;
}

std::string FormatHeader(std::string_view name, std::string_view value) {
  // Line breaks in a value would start a new header (injection): they become spaces.
  std::string clean(value);
  std::replace_if(
      clean.begin(), clean.end(), [](char c) { return c == '\r' || c == '\n'; }, ' ');
  // Tokens as they will appear: plain words, and runs of words needing encoding turned into
  // encoded words (the spaces inside a run travel encoded, as '_').
  std::vector<std::string> tokens;
  const auto words = SplitSpaces(clean);
  for (size_t i = 0; i < words.size();) {
    if (!NeedsEncoding(words[i])) {
      tokens.emplace_back(words[i++]);
      continue;
    }
    size_t end = i + 1;
    while (end < words.size() && NeedsEncoding(words[end])) ++end;
    const size_t from = static_cast<size_t>(words[i].data() - clean.data());
    const size_t to =
        static_cast<size_t>(words[end - 1].data() - clean.data()) + words[end - 1].size();
    for (auto& word : EncodedWords(std::string_view(clean).substr(from, to - from))) {
      tokens.push_back(std::move(word));
    }
    i = end;
  }
  std::string out = fmt::format("{}:", name);
  size_t column = out.size();
  for (const auto& token : tokens) {
    // Fold before a word that would pass the column: the space stays, after the line break.
    if (!token.empty() && column + 1 + token.size() > kFoldColumn && column > name.size() + 1) {
      out += "\r\n";
      column = 0;
    }
    out += ' ';
    out += token;
    column += 1 + token.size();
  }
  out += "\r\n";
  return out;
}

std::string DotStuff(std::string_view message) {
  std::string out;
  out.reserve(message.size() + message.size() / 32 + 2);
  bool line_start = true;
  for (size_t i = 0; i < message.size(); ++i) {
    const char c = message[i];
    if (c == '\r' || c == '\n') {
      if (c == '\r' && i + 1 < message.size() && message[i + 1] == '\n') ++i;
      out += "\r\n";
      line_start = true;
      continue;
    }
    if (line_start && c == '.') out.push_back('.');
    out.push_back(c);
    line_start = false;
  }
  if (!line_start) out += "\r\n";
  return out;
}

std::string FormatDate(std::chrono::system_clock::time_point time) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(time);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  return fmt::format("{}, {:02} {} {} {:02}:{:02}:{:02} +0000", kDays[utc.tm_wday], utc.tm_mday,
                     kMonths[utc.tm_mon], utc.tm_year + 1900, utc.tm_hour, utc.tm_min, utc.tm_sec);
}

MessageStamp MakeStamp(std::chrono::system_clock::time_point now, std::string_view hello) {
  std::random_device random;
  const auto token = [&random] {
    return fmt::format("{:08x}{:08x}{:08x}{:08x}", random(), random(), random(), random());
  };
  const auto nanos =
      std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
  // "=_" cannot occur in quoted-printable text ('=' is always "=3D" or a soft break), so the
  // boundary never collides with a body.
  return MessageStamp{
      .date = FormatDate(now),
      .message_id = fmt::format("<{}.{}@{}>", nanos, token(), hello.empty() ? "localhost" : hello),
      .boundary = "=_mingus_" + token()};
}

StatusOr<std::string> FormatMessage(const EmailMessage& message, const MessageStamp& stamp) {
  std::string out;
  bool has_date = false;
  bool has_message_id = false;
  for (const auto& [name, value] : message.headers) {
    if (!ValidHeaderName(name))
      return Status::Error(fmt::format("header name '{}' is not valid", name));
    const std::string lower = Lower(name);
    if (lower == "content-type" || lower == "content-transfer-encoding" ||
        lower == "mime-version") {
      continue;
    }
    has_date |= lower == "date";
    has_message_id |= lower == "message-id";
    out += FormatHeader(name, value);
  }
  if (!has_date) out += FormatHeader("Date", stamp.date);
  if (!has_message_id) out += FormatHeader("Message-Id", stamp.message_id);
  out += "MIME-Version: 1.0\r\n";
  if (!message.text.empty() && !message.html.empty()) {
    // The preferred alternative last (RFC 2046 5.1.4).
    out +=
        fmt::format("Content-Type: multipart/alternative; boundary=\"{}\"\r\n\r\n", stamp.boundary);
    out += fmt::format("--{}\r\n{}", stamp.boundary, BodyPart("text/plain", message.text));
    out += fmt::format("--{}\r\n{}", stamp.boundary, BodyPart("text/html", message.html));
    out += fmt::format("--{}--\r\n", stamp.boundary);
  } else if (!message.html.empty()) {
    out += BodyPart("text/html", message.html);
  } else {
    out += BodyPart("text/plain", message.text);
  }
  return out;
}

namespace {

constexpr size_t kMaxReplyLine = 4096;
constexpr size_t kMaxReplyLines = 200;

std::string Base64(std::string_view data) {
  namespace base64 = boost::beast::detail::base64;
  std::string out(base64::encoded_size(data.size()), '\0');
  out.resize(base64::encode(out.data(), data.data(), data.size()));
  return out;
}

// An envelope address goes between '<' and '>' on a command line.
bool ValidAddress(std::string_view address) {
  return !address.empty() && address.size() <= 254 &&
         std::none_of(address.begin(), address.end(), [](char c) {
           return static_cast<unsigned char>(c) <= ' ' || c == '<' || c == '>' || c == 0x7f;
         });
}

struct Reply {
  int code = 0;
  std::vector<std::string> lines;  // the text after the code and separator
  std::string Text() const {
    std::string text = std::to_string(code);
    for (const auto& line : lines) {
      if (!line.empty()) text += " " + line;
    }
    return text;
  }
};

// One SMTP conversation: commands, replies, and the first failure, classified.
class Session {
 public:
  Session(net::Stream& stream, const SmtpOptions& options, std::string host)
      : stream_(stream), options_(options), host_(std::move(host)) {
    // The password in every form it is sent in; short ones are not worth garbling messages.
    if (options.auth_password.size() >= 4) {
      secrets_ = {options.auth_password, Base64(options.auth_password), PlainCredentials()};
    }
  }

  SmtpResult Run(const EmailMessage& message, const std::string& data, bool implicit_tls);

 private:
  // Sends `command` (when not empty), reads the reply and checks its first digit against
  // `expected`'s; on failure records the error under `step` and returns nullopt.
  std::optional<Reply> Exchange(std::string_view step, std::string_view command, int expected);
  bool Hello();
  bool Authenticate();
  std::optional<Reply> ReadReply(std::string_view step);
  std::optional<std::string> ReadLine(std::string_view step);
  void Fail(SmtpResult::Kind kind, std::string_view step, std::string_view reason, int code = 0);
  bool Offers(std::string_view extension) const { return Extension(extension).has_value(); }
  std::optional<std::string> Extension(std::string_view keyword) const;

  std::string PlainCredentials() const {
    return Base64(options_.auth_identity + '\0' + options_.auth_username + '\0' +
                  options_.auth_password);
  }

  net::Stream& stream_;
  const SmtpOptions& options_;
  const std::string host_;
  std::vector<std::string> secrets_;
  std::string buffer_;                   // received, not yet consumed
  std::vector<std::string> extensions_;  // EHLO reply lines after the first
  SmtpResult result_;
};

void Session::Fail(SmtpResult::Kind kind, std::string_view step, std::string_view reason,
                   int code) {
  if (!result_.ok()) return;  // the first failure is the one that counts
  std::string message = fmt::format("smtp {}: {}: {}", options_.smarthost, step, reason);
  // A server that echoes what it was sent must not make us leak the password.
  for (const std::string& secret : secrets_) {
    for (auto at = message.find(secret); at != std::string::npos; at = message.find(secret)) {
      message.replace(at, secret.size(), "<redacted>");
    }
  }
  result_ = SmtpResult{.kind = kind, .reply_code = code, .message = std::move(message)};
}

std::optional<std::string> Session::ReadLine(std::string_view step) {
  while (true) {
    const auto newline = buffer_.find('\n');
    if (newline != std::string::npos) {
      std::string line = buffer_.substr(0, newline);
      buffer_.erase(0, newline + 1);
      if (!line.empty() && line.back() == '\r') line.pop_back();
      return line;
    }
    if (buffer_.size() > kMaxReplyLine) {
      Fail(SmtpResult::Kind::kTemporary, step, "reply line too long");
      return std::nullopt;
    }
    char chunk[4096];
    const auto count = stream_.ReadSome(chunk, sizeof chunk);
    if (!count.ok()) {
      Fail(SmtpResult::Kind::kTemporary, step, count.message());
      return std::nullopt;
    }
    if (*count == 0) {
      Fail(SmtpResult::Kind::kTemporary, step, "connection closed by the server");
      return std::nullopt;
    }
    buffer_.append(chunk, *count);
  }
}

std::optional<Reply> Session::ReadReply(std::string_view step) {
  Reply reply;
  for (size_t n = 0; n < kMaxReplyLines; ++n) {
    const auto line = ReadLine(step);
    if (!line) return std::nullopt;
    const bool digits =
        line->size() >= 3 &&
        std::all_of(line->begin(), line->begin() + 3, [](char c) { return c >= '0' && c <= '9'; });
    const char separator = line->size() > 3 ? (*line)[3] : ' ';
    if (!digits || (separator != ' ' && separator != '-')) {
      Fail(SmtpResult::Kind::kTemporary, step,
           fmt::format("not an SMTP reply: '{}'", line->substr(0, 80)));
      return std::nullopt;
    }
    reply.code = std::stoi(line->substr(0, 3));
    reply.lines.push_back(line->size() > 4 ? line->substr(4) : "");
    if (separator == ' ') return reply;
  }
  Fail(SmtpResult::Kind::kTemporary, step, "reply has too many lines");
  return std::nullopt;
}

std::optional<Reply> Session::Exchange(std::string_view step, std::string_view command,
                                       int expected) {
  if (!command.empty()) {
    const Status sent = stream_.Write(fmt::format("{}\r\n", command));
    if (!sent.ok()) {
      Fail(SmtpResult::Kind::kTemporary, step, sent.message());
      return std::nullopt;
    }
  }
  auto reply = ReadReply(step);
  if (!reply) return std::nullopt;
  if (reply->code / 100 != expected / 100) {
    const int digit = reply->code / 100;
    Fail(digit == 5 ? SmtpResult::Kind::kPermanent : SmtpResult::Kind::kTemporary, step,
         reply->Text(), reply->code);
    return std::nullopt;
  }
  return reply;
}

std::optional<std::string> Session::Extension(std::string_view keyword) const {
  for (const auto& line : extensions_) {
    const auto space = line.find(' ');
    if (EqualsIgnoreCase(std::string_view(line).substr(0, space), keyword)) {
      return space == std::string::npos ? "" : line.substr(space + 1);
    }
  }
  return std::nullopt;
}

bool Session::Hello() {
  extensions_.clear();
  const Status sent = stream_.Write(fmt::format("EHLO {}\r\n", options_.hello));
  if (!sent.ok()) {
    Fail(SmtpResult::Kind::kTemporary, "EHLO", sent.message());
    return false;
  }
  auto reply = ReadReply("EHLO");
  if (!reply) return false;
  if (reply->code / 100 == 2) {
    extensions_.assign(reply->lines.begin() + 1, reply->lines.end());
    return true;
  }
  if (reply->code / 100 != 5) {
    Fail(SmtpResult::Kind::kTemporary, "EHLO", reply->Text(), reply->code);
    return false;
  }
  // An old server without ESMTP: HELO, and no extensions.
  return Exchange("HELO", fmt::format("HELO {}", options_.hello), 250).has_value();
}

bool Session::Authenticate() {
  const auto offered = Extension("AUTH");
  // As Alertmanager: a server that offers no AUTH gets the mail without it, and decides.
  if (options_.auth_username.empty() || !offered) return true;
  // As Go's net/smtp PLAIN (which Alertmanager uses): credentials travel over TLS, or to a
  // server on this machine.
  if (!stream_.tls() && !net::IsLoopbackHost(host_)) {
    Fail(SmtpResult::Kind::kPermanent, "AUTH",
         "refusing to send credentials over a connection without TLS to a host other than "
         "localhost");
    return false;
  }
  std::vector<std::string> mechanisms;
  for (const auto& word : SplitSpaces(*offered)) {
    if (!word.empty()) mechanisms.push_back(Lower(word));
  }
  const auto has = [&](std::string_view name) {
    return std::find(mechanisms.begin(), mechanisms.end(), name) != mechanisms.end();
  };
  if (has("plain")) {
    const std::string credentials =
        options_.auth_identity + '\0' + options_.auth_username + '\0' + options_.auth_password;
    return Exchange("AUTH PLAIN", "AUTH PLAIN " + Base64(credentials), 235).has_value();
  }
  if (has("login")) {
    return Exchange("AUTH LOGIN", "AUTH LOGIN", 334) &&
           Exchange("AUTH LOGIN", Base64(options_.auth_username), 334) &&
           Exchange("AUTH LOGIN", Base64(options_.auth_password), 235);
  }
  Fail(SmtpResult::Kind::kPermanent, "AUTH",
       fmt::format("the server offers none of PLAIN and LOGIN (it offers {})", *offered));
  return false;
}

SmtpResult Session::Run(const EmailMessage& message, const std::string& data, bool implicit_tls) {
  if (implicit_tls && !stream_.tls()) {
    if (const Status tls = stream_.StartTls(options_.tls); !tls.ok()) {
      Fail(SmtpResult::Kind::kTemporary, "TLS handshake", tls.message());
      return result_;
    }
  }
  if (!Exchange("greeting", "", 220) || !Hello()) return result_;
  if (!stream_.tls() && options_.starttls != StartTls::kNever) {
    if (Offers("STARTTLS")) {
      if (!Exchange("STARTTLS", "STARTTLS", 220)) return result_;
      if (const Status tls = stream_.StartTls(options_.tls); !tls.ok()) {
        Fail(SmtpResult::Kind::kTemporary, "TLS handshake", tls.message());
        return result_;
      }
      if (!Hello()) return result_;  // the extensions may differ under TLS
    } else if (options_.starttls == StartTls::kRequired) {
      Fail(SmtpResult::Kind::kPermanent, "STARTTLS",
           "TLS is required (require_tls) but the server does not offer STARTTLS");
      return result_;
    }
  }
  if (!Authenticate()) return result_;
  if (!Exchange(fmt::format("MAIL FROM <{}>", message.from),
                fmt::format("MAIL FROM:<{}>", message.from), 250)) {
    return result_;
  }
  for (const auto& to : message.to) {
    if (!Exchange(fmt::format("RCPT TO <{}>", to), fmt::format("RCPT TO:<{}>", to), 250)) {
      return result_;
    }
  }
  if (!Exchange("DATA", "DATA", 354)) return result_;
  if (const Status sent = stream_.Write(DotStuff(data) + ".\r\n"); !sent.ok()) {
    Fail(SmtpResult::Kind::kTemporary, "DATA", sent.message());
    return result_;
  }
  if (!Exchange("DATA", "", 250)) return result_;
  // Delivered; a failing QUIT changes nothing.
  if (stream_.Write("QUIT\r\n").ok()) (void)ReadReply("QUIT");
  return SmtpResult{};
}

// What can be told before connecting.
std::optional<SmtpResult> Precheck(const SmtpOptions& options, const EmailMessage& message) {
  const auto refuse = [&](std::string_view step, std::string_view reason) {
    return SmtpResult{.kind = SmtpResult::Kind::kPermanent,
                      .message = fmt::format("smtp {}: {}: {}", options.smarthost, step, reason)};
  };
  if (!ValidAddress(message.from)) {
    return refuse("MAIL FROM", fmt::format("'{}' is not a valid address", message.from));
  }
  if (message.to.empty()) return refuse("RCPT TO", "no recipients");
  for (const auto& to : message.to) {
    if (!ValidAddress(to)) return refuse("RCPT TO", fmt::format("'{}' is not a valid address", to));
  }
  if (options.hello.empty() || !ValidAddress(options.hello)) {
    return refuse("EHLO", fmt::format("'{}' is not a valid host name", options.hello));
  }
  return std::nullopt;
}

}  // namespace

SmtpResult SendMailOver(net::Stream& stream, const SmtpOptions& options,
                        const EmailMessage& message, const MessageStamp& stamp) {
  const auto endpoint = net::ParseEndpoint(options.smarthost);
  if (!endpoint.ok()) {
    return SmtpResult{.kind = SmtpResult::Kind::kPermanent,
                      .message = fmt::format("smtp: smarthost: {}", endpoint.message())};
  }
  if (auto refused = Precheck(options, message)) return *std::move(refused);
  const auto data = FormatMessage(message, stamp);
  if (!data.ok()) {
    return SmtpResult{
        .kind = SmtpResult::Kind::kPermanent,
        .message = fmt::format("smtp {}: message: {}", options.smarthost, data.message())};
  }
  Session session(stream, options, endpoint->host);
  return session.Run(message, *data, endpoint->port == 465);
}

SmtpResult SendMail(const SmtpOptions& options, const EmailMessage& message) {
  const auto deadline = std::chrono::steady_clock::now() + options.timeout;
  const auto endpoint = net::ParseEndpoint(options.smarthost);
  if (!endpoint.ok()) {
    return SmtpResult{.kind = SmtpResult::Kind::kPermanent,
                      .message = fmt::format("smtp: smarthost: {}", endpoint.message())};
  }
  if (auto refused = Precheck(options, message)) return *std::move(refused);
  auto connection = net::Connection::Open(endpoint->host, endpoint->port, deadline);
  if (!connection.ok()) {
    return SmtpResult{
        .kind = SmtpResult::Kind::kTemporary,
        .message = fmt::format("smtp {}: connect: {}", options.smarthost, connection.message())};
  }
  return SendMailOver(**connection, options, message,
                      MakeStamp(std::chrono::system_clock::now(), options.hello));
}

}  // namespace mingus::collector::notify
