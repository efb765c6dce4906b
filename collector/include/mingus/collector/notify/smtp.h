#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "mingus/common/status.h"
#include "mingus/net/connection.h"

namespace mingus::collector::notify {

// One mail: the envelope (from, to) and what the recipients read (headers and bodies).
struct EmailMessage {
  std::string from;             // envelope sender, a bare address: alerts@example.org
  std::vector<std::string> to;  // envelope recipients, bare addresses
  // In order; values are UTF-8 and get RFC 2047 encoding where needed, line breaks become
  // spaces. Date, Message-Id and MIME-Version are added when missing. Content-Type and
  // Content-Transfer-Encoding follow from the bodies and are not taken from here.
  std::vector<std::pair<std::string, std::string>> headers;
  std::string text;  // text/plain body
  std::string html;  // optional text/html body; with a text body too: multipart/alternative
};

// When to upgrade a plain connection with STARTTLS.
enum class StartTls {
  kRequired,       // refuse to go on when the server does not offer it (Alertmanager's default)
  kOpportunistic,  // when offered (still with certificate verification)
  kNever,          // never: for relays with broken TLS; AUTH then goes to loopback hosts only
};

struct SmtpOptions {
  std::string smarthost;            // host:port; port 465 means implicit TLS (SMTPS)
  std::string hello = "localhost";  // the EHLO name
  std::string auth_username;        // empty: no AUTH
  std::string auth_password;        // a secret: never logged, never in an error
  std::string auth_identity;        // PLAIN's authorization identity, usually empty
  StartTls starttls = StartTls::kRequired;
  net::TlsOptions tls;  // ca_file, server_name (default: the smarthost's host), skip verify
  std::chrono::milliseconds timeout{30'000};  // the whole conversation, connect to QUIT
};

// The outcome of one delivery attempt, classified for the caller's retry logic: temporary
// failures (4xx replies, network errors, timeouts, TLS handshakes) may succeed later;
// permanent ones (5xx replies, a server without the required STARTTLS or AUTH mechanism,
// AUTH refused without TLS, a malformed message) will not.
struct SmtpResult {
  enum class Kind { kSent, kTemporary, kPermanent };
  Kind kind = Kind::kSent;
  int reply_code = 0;  // the server's reply code when it refused; 0 otherwise
  // "smtp 127.0.0.1:2525: RCPT TO <x@y>: 550 no such user"; never holds the password.
  std::string message;

  bool ok() const { return kind == Kind::kSent; }
  bool temporary() const { return kind == Kind::kTemporary; }
  bool permanent() const { return kind == Kind::kPermanent; }
};

// The Date, Message-Id and MIME boundary a message gets when its headers lack them.
struct MessageStamp {
  std::string date;        // RFC 5322: "Tue, 24 Jun 2025 10:30:00 +0000"
  std::string message_id;  // "<...@host>"
  std::string boundary;    // for multipart/alternative
};
// A stamp from the system clock and random numbers; `hello` ends the Message-Id.
MessageStamp MakeStamp(std::chrono::system_clock::time_point now, std::string_view hello);

// Delivers one message: connect, EHLO, STARTTLS, AUTH PLAIN or LOGIN, MAIL FROM, RCPT TO for
// every recipient (all must be accepted), DATA, QUIT. Blocking; thread-safe (no shared state).
SmtpResult SendMail(const SmtpOptions& options, const EmailMessage& message);

// The conversation of SendMail over a connected stream (a scripted one in tests). The
// smarthost's host names the TLS peer and decides the loopback rule; port 465 starts with TLS.
SmtpResult SendMailOver(net::Stream& stream, const SmtpOptions& options,
                        const EmailMessage& message, const MessageStamp& stamp);

// Formatting, pure functions.

// The whole RFC 5322 message with CRLF line endings: headers, then the body in
// quoted-printable, as one part or multipart/alternative (text first, html last).
StatusOr<std::string> FormatMessage(const EmailMessage& message, const MessageStamp& stamp);
// DATA's transparency (RFC 5321 4.5.2): CRLF line endings, a '.' doubled at a line's start,
// a final CRLF. The terminating ".\r\n" is not included.
std::string DotStuff(std::string_view message);
// Quoted-printable (RFC 2045 6.7) with CRLF hard line breaks and lines of at most 76 chars.
std::string QuotedPrintable(std::string_view text);
// "Name: value\r\n", non-ASCII words as RFC 2047 encoded words, folded near 78 columns.
std::string FormatHeader(std::string_view name, std::string_view value);
// RFC 5322 date-time in UTC.
std::string FormatDate(std::chrono::system_clock::time_point time);

}  // namespace mingus::collector::notify
