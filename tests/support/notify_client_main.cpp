// notify_client: drives the notification clients from the command line for the integration
// tests (tests/integration/smtp_https_test.py).
//
//   notify_client smtp --smarthost HOST:PORT --from ADDR --to ADDR [--to ADDR...]
//                      [--subject S] [--text T] [--html H] [--header 'Name: value'...]
//                      [--username U --password-file F] [--starttls required|opportunistic|never]
//                      [--ca-file F] [--server-name N] [--insecure-skip-verify] [--hello NAME]
//                      [--timeout-ms N]
//   notify_client post --url URL [--body B] [--header 'Name: value'...] [--ca-file F]
//                      [--server-name N] [--insecure-skip-verify] [--secret-url] [--timeout-ms N]
//
// Exit status: 0 delivered (post: any HTTP status, printed as "status N" then the body),
// 1 temporary failure, 2 bad usage, 3 permanent failure. Failures print
// "temporary: MESSAGE" or "permanent: MESSAGE" on stderr.
#include <fmt/format.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "mingus/collector/notify/smtp.h"
#include "mingus/http/client.h"

namespace {

using mingus::collector::notify::EmailMessage;
using mingus::collector::notify::SendMail;
using mingus::collector::notify::SmtpOptions;
using mingus::collector::notify::StartTls;

constexpr int kTemporary = 1;
constexpr int kUsage = 2;
constexpr int kPermanent = 3;

struct Args {
  std::multimap<std::string, std::string> values;  // --name value (repeatable)
  std::vector<std::string> flags;                  // --name without a value
  std::string Get(const std::string& name, std::string fallback = "") const {
    const auto it = values.find(name);
    return it == values.end() ? fallback : it->second;
  }
  std::vector<std::string> All(const std::string& name) const {
    std::vector<std::string> out;
    for (auto [it, end] = values.equal_range(name); it != end; ++it) out.push_back(it->second);
    return out;
  }
  bool Has(const std::string& flag) const {
    for (const auto& f : flags) {
      if (f == flag) return true;
    }
    return false;
  }
};

int Usage(const std::string& why) {
  std::fprintf(stderr, "notify_client: %s\nsee the comment at the top of notify_client_main.cpp\n",
               why.c_str());
  return kUsage;
}

bool ParseHeaders(const Args& args, std::vector<std::pair<std::string, std::string>>& out) {
  for (const auto& header : args.All("header")) {
    const auto colon = header.find(':');
    if (colon == std::string::npos) return false;
    std::string value = header.substr(colon + 1);
    if (!value.empty() && value.front() == ' ') value.erase(0, 1);
    out.emplace_back(header.substr(0, colon), value);
  }
  return true;
}

void ApplyTls(const Args& args, mingus::net::TlsOptions& tls) {
  tls.ca_file = args.Get("ca-file");
  tls.server_name = args.Get("server-name");
  tls.insecure_skip_verify = args.Has("insecure-skip-verify");
}

int Smtp(const Args& args) {
  SmtpOptions options;
  options.smarthost = args.Get("smarthost");
  options.hello = args.Get("hello", "localhost");
  options.auth_username = args.Get("username");
  if (const auto file = args.Get("password-file"); !file.empty()) {
    std::ifstream in(file);
    if (!in) return Usage("cannot read --password-file");
    std::getline(in, options.auth_password);
  }
  const auto starttls = args.Get("starttls", "required");
  if (starttls == "required") {
    options.starttls = StartTls::kRequired;
  } else if (starttls == "opportunistic") {
    options.starttls = StartTls::kOpportunistic;
  } else if (starttls == "never") {
    options.starttls = StartTls::kNever;
  } else {
    return Usage("--starttls must be required, opportunistic or never");
  }
  ApplyTls(args, options.tls);
  options.timeout = std::chrono::milliseconds(std::stoll(args.Get("timeout-ms", "10000")));

  EmailMessage message;
  message.from = args.Get("from");
  message.to = args.All("to");
  std::string to_header;
  for (const auto& to : message.to) to_header += (to_header.empty() ? "" : ", ") + to;
  message.headers = {{"From", message.from}, {"To", to_header}};
  if (const auto subject = args.Get("subject"); !subject.empty()) {
    message.headers.emplace_back("Subject", subject);
  }
  if (!ParseHeaders(args, message.headers)) return Usage("--header needs 'Name: value'");
  message.text = args.Get("text");
  message.html = args.Get("html");

  const auto result = SendMail(options, message);
  if (result.ok()) {
    std::printf("sent\n");
    return 0;
  }
  std::fprintf(stderr, "%s: %s\n", result.temporary() ? "temporary" : "permanent",
               result.message.c_str());
  return result.temporary() ? kTemporary : kPermanent;
}

int Post(const Args& args) {
  mingus::http::ClientOptions options;
  ApplyTls(args, options.tls);
  options.secret_url = args.Has("secret-url");
  options.timeout = std::chrono::milliseconds(std::stoll(args.Get("timeout-ms", "10000")));
  if (!ParseHeaders(args, options.headers)) return Usage("--header needs 'Name: value'");
  const auto response = mingus::http::HttpRequest(args.Get("method", "POST"), args.Get("url"),
                                                  args.Get("body"), options);
  if (!response.ok()) {
    std::fprintf(stderr, "temporary: %s\n", response.message().c_str());
    return kTemporary;
  }
  std::printf("status %d\n%s\n", response->status, response->body.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) return Usage("missing command (smtp or post)");
  const std::string command = argv[1];
  Args args;
  for (int i = 2; i < argc; ++i) {
    std::string name = argv[i];
    if (name.rfind("--", 0) != 0) return Usage("unexpected argument " + name);
    name.erase(0, 2);
    if (name == "insecure-skip-verify" || name == "secret-url") {
      args.flags.push_back(name);
    } else if (i + 1 < argc) {
      args.values.emplace(name, argv[++i]);
    } else {
      return Usage("--" + name + " needs a value");
    }
  }
  if (command == "smtp") return Smtp(args);
  if (command == "post") return Post(args);
  return Usage("unknown command " + command);
}
