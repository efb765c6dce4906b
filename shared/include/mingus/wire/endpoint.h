#pragma once

#include <string>
#include <string_view>

namespace mingus::wire {

// An API path with its variable parts folded, so that a label stays bounded: the query string
// and fragment are dropped, and segments that are numbers, UUIDs or long hex strings (24-hex
// object ids, hashes) become ":id". "/users/42/orders/5f1d7c3e9a0b4c1d2e3f4a5b?x=1" becomes
// "/users/:id/orders/:id". Appends to `out`.
void NormalizeEndpoint(std::string_view path, std::string& out);
std::string NormalizeEndpoint(std::string_view path);

}  // namespace mingus::wire
