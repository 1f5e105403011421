// CRC32C (Castagnoli), the checksum of every spool record. Uses the SSE4.2 crc32 instruction
// when the CPU has it (checked once at run time), else a slice-by-8 table.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ringmta::base {

// Extends `crc` (0 to start) over `data`. crc32c(crc32c(0,a),b) == crc32c(0, a||b).
uint32_t crc32c(uint32_t crc, const void* data, size_t size);

// The portable table version, exposed so tests can check it against the hardware one.
uint32_t crc32c_software(uint32_t crc, const void* data, size_t size);

}  // namespace ringmta::base
