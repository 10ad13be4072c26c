/* CRC-32 as zlib, PNG and Python's zlib.crc32 compute it (CRC-32/ISO-HDLC: reflected, polynomial
 * 0xEDB88320, initial and final XOR 0xFFFFFFFF), so trace and replay files can be checked by other tools. */
#ifndef DHYVE_BASE_CRC32_H
#define DHYVE_BASE_CRC32_H

#include <stddef.h>
#include <stdint.h>

/* Continues crc over buf[0..len); start with crc = 0. crc32_update(0, "123456789", 9) is
 * 0xCBF43926, the standard check value. */
uint32_t crc32_update(uint32_t crc, const void *buf, size_t len);

#endif
