// What an SMTP server answers the collector's mail delivery: the greeting, EHLO's extensions,
// STARTTLS, AUTH, MAIL, RCPT, DATA and QUIT replies, read by the SMTP session of the email
// notifier over a stream that gives the input as the server's bytes (TLS upgrades succeed
// unless the first byte says otherwise). Any reply either leads to the mail being sent or to a
// failure classified temporary or permanent; a crash, a sanitizer report, or the password of a
// delivery with credentials in the result's message (a server may echo what it was sent) is a
// bug.
// The first byte picks the options: STARTTLS required, opportunistic or never; implicit TLS
// (port 465); credentials or none; a loopback smarthost or not; whether TLS handshakes fail.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mingus/collector/notify/smtp.h"

namespace {

using namespace mingus;
namespace notify = mingus::collector::notify;

constexpr std::string_view kPassword = "s3cret-Passw0rd";

// The server's side of the conversation: the input's bytes, then the end of the connection.
class ScriptedServer final : public net::Stream {
 public:
  ScriptedServer(std::string_view replies, bool tls_fails)
      : replies_(replies), tls_fails_(tls_fails) {}

  Status Write(std::string_view) override { return OkStatus(); }
  StatusOr<size_t> ReadSome(char* buffer, size_t size) override {
    const size_t count = std::min(size, replies_.size());
    replies_.copy(buffer, count);
    replies_.remove_prefix(count);
    return count;
  }
  Status StartTls(const net::TlsOptions&) override {
    if (tls_fails_) return Status::Error("certificate verify failed");
    tls_ = true;
    return OkStatus();
  }
  bool tls() const override { return tls_; }

 private:
  std::string_view replies_;
  const bool tls_fails_;
  bool tls_ = false;
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  const uint8_t choice = data[0];
  notify::SmtpOptions options;
  options.starttls = choice % 3 == 0   ? notify::StartTls::kRequired
                     : choice % 3 == 1 ? notify::StartTls::kOpportunistic
                                       : notify::StartTls::kNever;
  const bool implicit_tls = (choice & 0x04) != 0;
  const bool loopback = (choice & 0x10) != 0;
  options.smarthost =
      std::string(loopback ? "127.0.0.1" : "mail.example.org") + (implicit_tls ? ":465" : ":25");
  if ((choice & 0x08) != 0) {
    options.auth_username = "alerts";
    options.auth_password = kPassword;
  }
  const notify::EmailMessage message{
      .from = "alerts@example.org",
      .to = {"ops@example.org", "oncall@example.org"},
      .headers = {{"Subject", "[FIRING:1] HighLatency"}},
      .text = "The latency is high.\n.\nA line with a dot.\n",
      .html = (choice & 0x40) != 0 ? "<p>The latency is high.</p>" : "",
  };
  const notify::MessageStamp stamp{.date = "Tue, 24 Jun 2025 10:30:00 +0000",
                                   .message_id = "<1@localhost>",
                                   .boundary = "b0undary"};
  ScriptedServer server(std::string_view(reinterpret_cast<const char*>(data) + 1, size - 1),
                        (choice & 0x20) != 0);
  const notify::SmtpResult result = notify::SendMailOver(server, options, message, stamp);
  if (!options.auth_password.empty() && result.message.find(kPassword) != std::string::npos) {
    __builtin_trap();
  }
  return 0;
}
