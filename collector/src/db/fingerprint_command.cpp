#include "mingus/collector/db/fingerprint_command.h"

#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>

#include "mingus/config/daemon.h"
#include "mingus/sql/fingerprint.h"

namespace mingus::collector::db {

void ForEachQuery(std::string_view text, const std::function<void(std::string_view)>& query) {
  while (!text.empty()) {
    const size_t end = text.find(";\n");
    if (end == std::string_view::npos) {
      query(text);
      return;
    }
    query(text.substr(0, end));
    text.remove_prefix(end + 2);
  }
}

namespace {

constexpr size_t kFlushBytes = 1 << 16;

// Fingerprints every query of `text` into `out`, a line each.
void FingerprintText(std::string_view text, std::ostream& out) {
  std::string buffer;
  buffer.reserve(kFlushBytes + 4096);
  ForEachQuery(text, [&](std::string_view query) {
    const size_t before = buffer.size();
    sql::AppendFingerprint(query, buffer);
    if (buffer.size() == before) return;
    buffer.push_back('\n');
    if (buffer.size() >= kFlushBytes) {
      out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
      buffer.clear();
    }
  });
  out.write(buffer.data(), static_cast<std::streamsize>(buffer.size()));
}

std::string ReadAll(std::istream& in) {
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

}  // namespace

int FingerprintCommand(const std::vector<std::string>& args, std::istream& in, std::ostream& out,
                       std::ostream& err) {
  std::vector<std::string> files;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string_view arg = args[i];
    if (arg == "--query" || arg.starts_with("--query=")) {
      if (arg == "--query" && i + 1 == args.size()) {
        err << "mingus-collector fingerprint: --query needs a query\n";
        return config::kExitBadUsage;
      }
      out << sql::Fingerprint(arg == "--query" ? std::string_view(args[++i]) : arg.substr(8))
          << "\n";
      return 0;
    }
    if (arg == "-h" || arg == "--help") {
      out << "usage: mingus-collector fingerprint [--query QUERY | FILE...]\n\n"
             "Prints the fingerprint of QUERY, or of every query in the FILEs (standard input\n"
             "when none or -), each ending with ';' at the end of a line, as pt-fingerprint.\n";
      return 0;
    }
    if (arg.size() > 1 && arg.starts_with("-")) {
      err << "mingus-collector fingerprint: unknown flag " << arg << "\n";
      return config::kExitBadUsage;
    }
    files.push_back(args[i]);
  }
  if (files.empty()) files.push_back("-");
  for (const auto& file : files) {
    if (file == "-") {
      FingerprintText(ReadAll(in), out);
      continue;
    }
    std::ifstream stream(file, std::ios::binary);
    if (!stream) {
      err << "mingus-collector fingerprint: cannot read " << file << "\n";
      return 1;
    }
    FingerprintText(ReadAll(stream), out);
  }
  out.flush();
  return out ? 0 : 1;
}

}  // namespace mingus::collector::db
