#include "parley/relay/flat_index_map.h"

#include <gtest/gtest.h>

#include <random>
#include <stdexcept>
#include <unordered_map>

namespace parley::relay {
namespace {

// Every key lands on one of two home slots near the end of the table, so probes wrap
// around and erase has long runs to shift: the cases a good hash rarely reaches.
struct ClusteringHash {
  uint64_t operator()(uint32_t key) const { return 6 + (key & 1); }
};

net::SocketAddress Address(const char* text) {
  auto parsed = net::SocketAddress::Parse(text);
  if (!parsed) throw std::runtime_error(parsed.error().message);
  return *parsed;
}

TEST(FlatIndexMapTest, InsertFindOverwriteErase) {
  FlatIndexMap<uint32_t, U32KeyHash> map(4);
  EXPECT_EQ(map.Find(7), map.kNotFound);
  EXPECT_TRUE(map.Insert(7, 70));
  EXPECT_TRUE(map.Insert(8, 80));
  EXPECT_EQ(map.Find(7), 70u);
  EXPECT_EQ(map.Find(8), 80u);
  EXPECT_TRUE(map.Insert(7, 71));  // overwrite, not a second entry
  EXPECT_EQ(map.Find(7), 71u);
  EXPECT_EQ(map.size(), 2u);
  EXPECT_TRUE(map.Erase(7));
  EXPECT_FALSE(map.Erase(7));
  EXPECT_EQ(map.Find(7), map.kNotFound);
  EXPECT_EQ(map.Find(8), 80u);
  EXPECT_EQ(map.size(), 1u);
}

TEST(FlatIndexMapTest, RefusesANewKeyWhenFullButStillOverwrites) {
  FlatIndexMap<uint32_t, U32KeyHash> map(3);
  EXPECT_GE(map.slot_count(), 2 * map.max_entries());
  for (uint32_t k = 0; k < 3; ++k) EXPECT_TRUE(map.Insert(k, k));
  EXPECT_FALSE(map.Insert(99, 1));
  EXPECT_EQ(map.Find(99), map.kNotFound);
  EXPECT_TRUE(map.Insert(1, 11));
  EXPECT_EQ(map.Find(1), 11u);
  EXPECT_TRUE(map.Erase(0));
  EXPECT_TRUE(map.Insert(99, 1));
}

TEST(FlatIndexMapTest, ZeroCapacityIsMisuse) {
  EXPECT_THROW((FlatIndexMap<uint32_t, U32KeyHash>(0)), std::invalid_argument);
}

// Random inserts and erases against std::unordered_map, with a good hash and with one
// that piles every key into one wrapping cluster (fixed seeds: deterministic).
template <typename Hash>
void CheckAgainstReference(uint32_t seed) {
  constexpr size_t kMax = 4;  // 8 slots: the clustering hash wraps at slot 7
  FlatIndexMap<uint32_t, Hash> map(kMax);
  std::unordered_map<uint32_t, uint32_t> reference;
  std::mt19937 random(seed);
  for (int step = 0; step < 20000; ++step) {
    const uint32_t key = random() % 12;
    const uint32_t value = random();
    if (random() % 2 == 0) {
      const bool fits = reference.count(key) > 0 || reference.size() < kMax;
      ASSERT_EQ(map.Insert(key, value), fits) << "step " << step;
      if (fits) reference[key] = value;
    } else {
      ASSERT_EQ(map.Erase(key), reference.erase(key) == 1) << "step " << step;
    }
    ASSERT_EQ(map.size(), reference.size());
    for (uint32_t k = 0; k < 12; ++k) {
      const auto it = reference.find(k);
      ASSERT_EQ(map.Find(k), it == reference.end() ? map.kNotFound : it->second)
          << "key " << k << " at step " << step;
    }
  }
}

TEST(FlatIndexMapTest, MatchesAReferenceMapUnderRandomChurn) {
  CheckAgainstReference<U32KeyHash>(1);
  CheckAgainstReference<ClusteringHash>(2);
}

TEST(FlatIndexMapTest, AddressKeysAreEqualExactlyWhenAddressesAre) {
  const char* addresses[] = {"127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.2:5000",
                             "[::1]:5000",     "[::1]:5001",     "[::ffff:127.0.0.1]:5000",
                             "0.0.0.0:0",      "[::]:0"};
  for (const char* a : addresses) {
    for (const char* b : addresses) {
      EXPECT_EQ(AddressKey::Of(Address(a)) == AddressKey::Of(Address(b)), Address(a) == Address(b))
          << a << " vs " << b;
    }
  }
  EXPECT_EQ(AddressKey::Of(net::SocketAddress()), AddressKey());
}

TEST(FlatIndexMapTest, FindsParticipantsByAddress) {
  FlatIndexMap<AddressKey, AddressKeyHash> map(1000);
  for (uint32_t port = 40000; port < 41000; ++port) {
    ASSERT_TRUE(map.Insert(AddressKey::Of(net::SocketAddress::Loopback(false, port)), port));
  }
  for (uint32_t port = 40000; port < 41000; ++port) {
    EXPECT_EQ(map.Find(AddressKey::Of(net::SocketAddress::Loopback(false, port))), port);
    EXPECT_EQ(map.Find(AddressKey::Of(net::SocketAddress::Loopback(true, port))), map.kNotFound);
  }
}

}  // namespace
}  // namespace parley::relay
