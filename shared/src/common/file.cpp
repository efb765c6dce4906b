#include "mingus/common/file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <glob.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace mingus {

StatusOr<std::string> ReadFile(const std::string& path, size_t max_bytes) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Status::Error(fmt::format("{}: {}", path, std::strerror(errno)));
  std::string content;
  char buffer[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0) {
      if (errno == EINTR) continue;
      const int saved = errno;
      ::close(fd);
      return Status::Error(fmt::format("{}: {}", path, std::strerror(saved)));
    }
    if (n == 0) break;
    if (content.size() + static_cast<size_t>(n) > max_bytes) {
      ::close(fd);
      return Status::Error(fmt::format("{}: larger than {} bytes", path, max_bytes));
    }
    content.append(buffer, static_cast<size_t>(n));
  }
  ::close(fd);
  return content;
}

std::string JoinPath(std::string_view root, std::string_view relative) {
  while (!relative.empty() && relative.front() == '/') relative.remove_prefix(1);
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  if (root.empty() || root == "/") return fmt::format("/{}", relative);
  return fmt::format("{}/{}", root, relative);
}

std::vector<std::string> GlobFiles(std::string_view base_directory, std::string_view pattern) {
  // An absolute pattern replaces the base.
  const std::string full = (std::filesystem::path(base_directory) / pattern).string();
  glob_t matches{};
  std::vector<std::string> out;
  if (::glob(full.c_str(), 0, nullptr, &matches) == 0) {
    for (size_t i = 0; i < matches.gl_pathc; ++i) {
      std::error_code error;
      if (std::filesystem::is_regular_file(matches.gl_pathv[i], error))
        out.emplace_back(matches.gl_pathv[i]);
    }
  }
  ::globfree(&matches);
  return out;  // glob(3) sorts
}

}  // namespace mingus
