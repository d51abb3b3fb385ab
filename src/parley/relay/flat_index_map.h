// A fixed-capacity hash map from a small key to a uint32_t index, for the relay's
// per-packet look-ups (source address -> participant, participant id -> participant).
//
// Open addressing with linear probing in one flat array, sized at construction to twice
// the most entries it may hold (rounded up to a power of two), so the load stays <= 0.5
// and a miss ends after a probe or two. Nothing is allocated after construction: no node
// per entry as std::unordered_map makes. Erase shifts the entries that follow back into
// the hole (no tombstones), so a table that sees many joins and leaves does not slow down.
//
// Keys are hashed with a 64-bit mixer: the relay's keys are ids and addresses whose low
// bits are far from random (ports counting up, ids allocated in sequence).
//
// Threading: not thread-safe; the media thread owns its tables. Not copyable (large).
#pragma once

#include <algorithm>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <vector>

#include "parley/net/udp_socket.h"

namespace parley::relay {

// A 64-bit finaliser (splitmix64's): every input bit moves about half the output bits.
inline uint64_t MixBits(uint64_t x) {
  x ^= x >> 30;
  x *= 0xBF58476D1CE4E5B9ULL;
  x ^= x >> 27;
  x *= 0x94D049BB133111EBULL;
  x ^= x >> 31;
  return x;
}

struct U32KeyHash {
  uint64_t operator()(uint32_t key) const { return MixBits(key); }
};

// A socket address (family, IP, port, IPv6 scope) packed into three words, so comparing
// and hashing it is three integer operations instead of a walk over a sockaddr_storage.
// Two keys are equal exactly when their SocketAddresses compare equal.
struct AddressKey {
  uint64_t ip_high = 0;  // IPv6 bytes 0..7, or the IPv4 address in the low 32 bits
  uint64_t ip_low = 0;   // IPv6 bytes 8..15, 0 for IPv4
  uint64_t rest = 0;     // family (bits 0..15), port (16..31), IPv6 scope id (32..63)

  static AddressKey Of(const net::SocketAddress& address);
  bool operator==(const AddressKey&) const = default;
};

struct AddressKeyHash {
  uint64_t operator()(const AddressKey& key) const {
    return MixBits(key.ip_high ^ MixBits(key.ip_low ^ MixBits(key.rest)));
  }
};

template <typename Key, typename Hash>
class FlatIndexMap {
 public:
  static constexpr uint32_t kNotFound = UINT32_MAX;

  // Room for `max_entries` keys (> 0); throws std::invalid_argument otherwise.
  explicit FlatIndexMap(size_t max_entries)
      : max_entries_(max_entries),
        entries_(std::bit_ceil(std::max<size_t>(2 * max_entries, kMinSlots))),
        mask_(entries_.size() - 1) {
    if (max_entries == 0) throw std::invalid_argument("FlatIndexMap: max_entries must be > 0");
  }
  FlatIndexMap(const FlatIndexMap&) = delete;
  FlatIndexMap& operator=(const FlatIndexMap&) = delete;

  // The value stored for `key`, or kNotFound.
  uint32_t Find(const Key& key) const {
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      const Entry& entry = entries_[i];
      if (!entry.used) return kNotFound;
      if (entry.key == key) return entry.value;
    }
  }

  // Stores `value` for `key`, replacing any value it had. False (nothing stored) when
  // `key` is new and max_entries keys are already held.
  bool Insert(const Key& key, uint32_t value) {
    for (size_t i = Home(key);; i = (i + 1) & mask_) {
      Entry& entry = entries_[i];
      if (entry.used && entry.key == key) {
        entry.value = value;
        return true;
      }
      if (!entry.used) {
        if (size_ == max_entries_) return false;
        entry = Entry{key, value, true};
        ++size_;
        return true;
      }
    }
  }

  // Removes `key`; false when it was not there.
  bool Erase(const Key& key) {
    size_t hole = Home(key);
    for (;; hole = (hole + 1) & mask_) {
      if (!entries_[hole].used) return false;
      if (entries_[hole].key == key) break;
    }
    // Backward shift: an entry after the hole moves into it unless its home slot lies
    // cyclically in (hole, position], where a probe for it would never pass the hole.
    for (size_t position = (hole + 1) & mask_; entries_[position].used;
         position = (position + 1) & mask_) {
      const size_t home = Home(entries_[position].key);
      const bool stays =
          hole <= position ? (hole < home && home <= position) : (hole < home || home <= position);
      if (stays) continue;
      entries_[hole] = entries_[position];
      hole = position;
    }
    entries_[hole].used = false;
    --size_;
    return true;
  }

  size_t size() const { return size_; }
  size_t max_entries() const { return max_entries_; }
  // Slots in the table (a power of two, >= 2 * max_entries).
  size_t slot_count() const { return entries_.size(); }

 private:
  static constexpr size_t kMinSlots = 8;

  struct Entry {
    Key key{};
    uint32_t value = 0;
    bool used = false;
  };

  size_t Home(const Key& key) const { return static_cast<size_t>(Hash{}(key)) & mask_; }

  size_t max_entries_;
  std::vector<Entry> entries_;
  size_t mask_;
  size_t size_ = 0;
};

}  // namespace parley::relay
