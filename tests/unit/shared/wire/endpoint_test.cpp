#include "mingus/wire/endpoint.h"

#include <gtest/gtest.h>

namespace mingus::wire {
namespace {

TEST(NormalizeEndpoint, FoldsIdsKeepsWords) {
  EXPECT_EQ(NormalizeEndpoint("/users/42"), "/users/:id");
  EXPECT_EQ(NormalizeEndpoint("/users/42/orders/5f1d7c3e9a0b4c1d2e3f4a5b?x=1#top"),
            "/users/:id/orders/:id");
  EXPECT_EQ(NormalizeEndpoint("/items/123e4567-e89b-12d3-a456-426614174000/edit"), "/items/:id/edit");
  EXPECT_EQ(NormalizeEndpoint("/blobs/da39a3ee5e6b4b0d3255bfef95601890afd80709"), "/blobs/:id");
  EXPECT_EQ(NormalizeEndpoint("/api/v2/facade/deadbeef"), "/api/v2/facade/deadbeef");  // short hex: a word
  EXPECT_EQ(NormalizeEndpoint("/health"), "/health");
  EXPECT_EQ(NormalizeEndpoint("/users/"), "/users/");
  EXPECT_EQ(NormalizeEndpoint(""), "/");
  EXPECT_EQ(NormalizeEndpoint("?only=query"), "/");
  EXPECT_EQ(NormalizeEndpoint("/a//b/7"), "/a//b/:id");
}

}  // namespace
}  // namespace mingus::wire
