#pragma once

#include <string>
#include <string_view>

namespace mingus::http {

// A complete gzip member (RFC 1952) holding `data`. Level 1 favours speed, as scrapes repeat.
std::string GzipCompress(std::string_view data, int level = 1);

}  // namespace mingus::http
