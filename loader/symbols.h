/* Kernel symbols by name from an ELF image's symbol table (libelf): for `-o record.panic_at=`
 * and anything else that lets a person name a place in the kernel instead of an address. */
#ifndef DHYVE_LOADER_SYMBOLS_H
#define DHYVE_LOADER_SYMBOLS_H

#include <stdint.h>

#include "base/errmsg.h"

/* The value of symbol name in the ELF file path: 0, -ENOENT when the file has no such symbol,
 * or another negative errno (not an ELF file, no symbol table) with a message. */
int elf_symbol_address(const char *path, const char *name, uint64_t *addr, struct errmsg *e);
/* A number (0x... or decimal) as it is, else a symbol of path, as above. */
int elf_address_or_symbol(const char *path, const char *what, uint64_t *addr, struct errmsg *e);

#endif
