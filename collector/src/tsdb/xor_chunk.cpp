#include "mingus/collector/tsdb/xor_chunk.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace mingus::collector::tsdb {

namespace {

// As Prometheus' chunks: room for a chunk's first 128 bytes at once, where growing from one
// byte took seven reallocations and copies before a series' first chunk got there.
constexpr size_t kInitialBytes = 128;

uint64_t Bits(double v) { return std::bit_cast<uint64_t>(v); }
double Value(uint64_t bits) { return std::bit_cast<double>(bits); }

// Delta-of-delta classes: (prefix, prefix bits, payload bits).
bool Fits(int64_t v, int bits) {
  return v >= -((int64_t{1} << (bits - 1)) - 1) && v <= (int64_t{1} << (bits - 1));
}

}  // namespace

// Fills the last byte's free bits, then appends whole bytes: most writes are a bit or two,
// or a value's 10 to 64 meaningful bits, which a bit at a time made the encoder's hot spot.
void XorChunkWriter::WriteBits(uint64_t bits, int count) {
  if (count < 64) bits &= (uint64_t{1} << count) - 1;
  if (free_bits_ > 0) {
    const int take = std::min(count, free_bits_);
    stream_.back() |= static_cast<uint8_t>((bits >> (count - take)) << (free_bits_ - take));
    free_bits_ -= take;
    count -= take;
    if (count == 0) return;
    bits &= (uint64_t{1} << count) - 1;  // count < 64: take was at least 1
  }
  for (; count >= 8; count -= 8) stream_.push_back(static_cast<uint8_t>(bits >> (count - 8)));
  if (count > 0) {
    stream_.push_back(static_cast<uint8_t>(bits << (8 - count)));
    free_bits_ = 8 - count;
  }
}

void XorChunkWriter::WriteUvarint(uint64_t v) {
  while (v >= 0x80) {
    WriteBits((v & 0x7f) | 0x80, 8);
    v >>= 7;
  }
  WriteBits(v, 8);
}

void XorChunkWriter::WriteVarint(int64_t v) {
  WriteUvarint((static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63));  // zig-zag
}

bool XorChunkWriter::Append(int64_t t, double value) {
  if (count_ == std::numeric_limits<uint16_t>::max()) return false;
  const uint64_t bits = Bits(value);
  if (count_ == 0) {
    if (stream_.capacity() == 0) stream_.reserve(kInitialBytes);
    WriteVarint(t);
    WriteBits(bits, 64);
  } else {
    int64_t delta = 0, dod = 0;
    if (t <= last_t_ || __builtin_sub_overflow(t, last_t_, &delta) ||
        __builtin_sub_overflow(delta, last_delta_, &dod)) {
      return false;  // out of order, or a jump no 64-bit delta can hold
    }
    if (count_ == 1) {
      last_delta_ = delta;
      WriteUvarint(static_cast<uint64_t>(last_delta_));
    } else {
      if (dod == 0) {
        WriteBits(0b0, 1);
      } else if (Fits(dod, 14)) {
        WriteBits(0b10, 2);
        WriteBits(static_cast<uint64_t>(dod), 14);
      } else if (Fits(dod, 17)) {
        WriteBits(0b110, 3);
        WriteBits(static_cast<uint64_t>(dod), 17);
      } else if (Fits(dod, 20)) {
        WriteBits(0b1110, 4);
        WriteBits(static_cast<uint64_t>(dod), 20);
      } else {
        WriteBits(0b1111, 4);
        WriteBits(static_cast<uint64_t>(dod), 64);
      }
      last_delta_ = delta;
    }
    const uint64_t x = bits ^ last_value_bits_;
    if (x == 0) {
      WriteBits(0b0, 1);
    } else {
      WriteBits(0b1, 1);
      int leading = std::countl_zero(x);
      const int trailing = std::countr_zero(x);
      if (leading >= 32) leading = 31;  // 5 bits hold it
      if (leading_ != 0xff && leading >= leading_ && trailing >= trailing_) {
        WriteBits(0b0, 1);  // inside the previous window
        WriteBits(x >> trailing_, 64 - leading_ - trailing_);
      } else {
        leading_ = leading;
        trailing_ = trailing;
        WriteBits(0b1, 1);
        WriteBits(static_cast<uint64_t>(leading), 5);
        const int significant = 64 - leading - trailing;
        // 64 significant bits are written as 0: a field of 6 bits cannot hold 64.
        WriteBits(static_cast<uint64_t>(significant & 63), 6);
        WriteBits(x >> trailing, significant);
      }
    }
  }
  last_t_ = t;
  last_value_bits_ = bits;
  ++count_;
  return true;
}

std::string XorChunkWriter::Bytes() const {
  std::string out;
  out.reserve(stream_.size() + 2);
  out.push_back(static_cast<char>(count_ >> 8));
  out.push_back(static_cast<char>(count_ & 0xff));
  out.append(reinterpret_cast<const char*>(stream_.data()), stream_.size());
  return out;
}

void XorChunkWriter::Clear() {
  // A new writer's state, so that a field added later is reset too; only the buffer stays.
  std::vector<uint8_t> buffer = std::move(stream_);
  buffer.clear();
  *this = XorChunkWriter();
  stream_ = std::move(buffer);
}

XorChunkReader XorChunkWriter::Reader() const {
  return XorChunkReader(
      count_, std::string_view(reinterpret_cast<const char*>(stream_.data()), stream_.size()));
}

XorChunkReader::XorChunkReader(std::string_view bytes) {
  if (bytes.size() < 2) {
    error_ = !bytes.empty();
    return;
  }
  total_ = static_cast<uint16_t>(XorChunkSampleCount(bytes));
  stream_ = bytes.substr(2);
}

bool XorChunkReader::ReadBits(int count, uint64_t& out) {
  if (bit_ + static_cast<size_t>(count) > stream_.size() * 8) return false;
  out = 0;
  if (count == 0) return true;
  // A word at a time (big-endian, as the bits were written): the 8 bytes from the current one
  // hold at least 57 of the bits wanted; a 58- to 64-bit read takes the rest from the 9th byte.
  const size_t byte = bit_ / 8;
  const int offset = static_cast<int>(bit_ % 8);
  uint64_t window = 0;
  const size_t available = std::min<size_t>(8, stream_.size() - byte);
  if (available == 8) {
    std::memcpy(&window, stream_.data() + byte, 8);
    if constexpr (std::endian::native == std::endian::little) window = __builtin_bswap64(window);
  } else {
    for (size_t i = 0; i < available; ++i)
      window |= uint64_t{static_cast<uint8_t>(stream_[byte + i])} << (56 - 8 * i);
  }
  window <<= offset;
  const int held = 64 - offset;
  if (count <= held) {
    out = count == 64 ? window : window >> (64 - count);
  } else {
    const int rest = count - held;
    out = (window >> offset) << rest | (static_cast<uint8_t>(stream_[byte + 8]) >> (8 - rest));
  }
  bit_ += static_cast<size_t>(count);
  return true;
}

bool XorChunkReader::ReadBit(bool& out) {
  uint64_t bit = 0;
  if (!ReadBits(1, bit)) return false;
  out = bit != 0;
  return true;
}

bool XorChunkReader::ReadUvarint(uint64_t& out) {
  out = 0;
  for (int shift = 0; shift < 64; shift += 7) {
    uint64_t byte = 0;
    if (!ReadBits(8, byte)) return false;
    out |= (byte & 0x7f) << shift;
    if ((byte & 0x80) == 0) return true;
  }
  return false;
}

bool XorChunkReader::ReadVarint(int64_t& out) {
  uint64_t u = 0;
  if (!ReadUvarint(u)) return false;
  out = static_cast<int64_t>(u >> 1) ^ -static_cast<int64_t>(u & 1);
  return true;
}

bool XorChunkReader::Next(Sample& out) {
  if (error_ || read_ >= total_) return false;
  const auto fail = [&] {
    error_ = true;
    return false;
  };
  if (read_ == 0) {
    if (!ReadVarint(t_) || !ReadBits(64, value_bits_)) return fail();
  } else {
    if (read_ == 1) {
      uint64_t delta = 0;
      if (!ReadUvarint(delta)) return fail();
      delta_ = static_cast<int64_t>(delta);
    } else {
      int prefix = 0;
      bool bit = true;
      while (prefix < 4) {
        if (!ReadBit(bit)) return fail();
        if (!bit) break;
        ++prefix;
      }
      static constexpr int kPayload[] = {0, 14, 17, 20, 64};
      int64_t dod = 0;
      if (prefix > 0) {
        uint64_t raw = 0;
        if (!ReadBits(kPayload[prefix], raw)) return fail();
        const int width = kPayload[prefix];
        // Sign-extend; values equal to 2^(width-1) stand for +2^(width-1) (see Fits).
        dod = width == 64 ? static_cast<int64_t>(raw)
                          : (raw > (uint64_t{1} << (width - 1))
                                 ? static_cast<int64_t>(raw) - (int64_t{1} << width)
                                 : static_cast<int64_t>(raw));
      }
      if (__builtin_add_overflow(delta_, dod, &delta_)) return fail();
    }
    // A valid chunk's timestamps strictly increase; anything else is damage.
    if (delta_ <= 0 || __builtin_add_overflow(t_, delta_, &t_)) return fail();
    bool changed = false;
    if (!ReadBit(changed)) return fail();
    if (changed) {
      bool new_window = false;
      if (!ReadBit(new_window)) return fail();
      if (new_window) {
        uint64_t leading = 0, significant = 0;
        if (!ReadBits(5, leading) || !ReadBits(6, significant)) return fail();
        if (significant == 0) significant = 64;
        if (leading + significant > 64) return fail();
        leading_ = static_cast<int>(leading);
        trailing_ = 64 - leading_ - static_cast<int>(significant);
        has_window_ = true;
      } else if (!has_window_) {
        return fail();  // a corrupt chunk: no window to reuse yet
      }
      uint64_t x = 0;
      if (!ReadBits(64 - leading_ - trailing_, x)) return fail();
      value_bits_ ^= x << trailing_;
    }
  }
  ++read_;
  out = {t_, Value(value_bits_)};
  return true;
}

std::vector<Sample> DecodeAll(std::string_view bytes) {
  std::vector<Sample> out;
  XorChunkReader reader(bytes);
  Sample s;
  while (reader.Next(s)) out.push_back(s);
  return out;
}

size_t XorChunkSampleCount(std::string_view bytes) {
  if (bytes.size() < 2) return 0;
  return (static_cast<size_t>(static_cast<uint8_t>(bytes[0])) << 8) |
         static_cast<uint8_t>(bytes[1]);
}

}  // namespace mingus::collector::tsdb
