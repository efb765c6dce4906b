#pragma once

#include <string>

#include "mingus/common/file.h"

namespace mingus::testing {

// The committed fixture trees under tests/fixtures/ (copied from a real machine, plus broken
// variants under broken/).
inline std::string FixturePath(std::string_view relative) {
  return JoinPath(MINGUS_FIXTURES_DIR, relative);
}

inline std::string ReadFixture(std::string_view relative) {
  auto content = ReadFile(FixturePath(relative));
  if (!content.ok()) throw std::runtime_error(content.message());
  return *std::move(content);
}

}  // namespace mingus::testing
