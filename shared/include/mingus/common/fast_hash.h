#pragma once

#include <cstddef>
#include <string_view>

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace mingus {

// XXH3 (Debian's libxxhash, inlined) for hash tables on hot paths keyed by short strings:
// several times faster than std::hash on 10 to 100 bytes, and well mixed, so that
// boost::unordered_flat_map uses it as it is (is_avalanching). Transparent: look up
// std::string keys by std::string_view without building a string.
struct FastHash {
  using is_transparent = void;
  using is_avalanching = void;
  size_t operator()(std::string_view s) const noexcept { return XXH3_64bits(s.data(), s.size()); }
};

}  // namespace mingus
