/* Looking a symbol up in a kernel's .symtab with libelf. */
#include "loader/symbols.h"

#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int find_in_symtab(Elf *elf, const char *name, uint64_t *addr)
{
	Elf_Scn *scn = NULL;
	bool had_table = false;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_SYMTAB || sh.sh_entsize == 0)
			continue;
		had_table = true;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t n = d ? d->d_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < n; i++) {
			GElf_Sym sym;
			const char *s;
			if (gelf_getsym(d, (int)i, &sym) && sym.st_shndx != SHN_UNDEF &&
			    (s = elf_strptr(elf, sh.sh_link, sym.st_name)) && strcmp(s, name) == 0) {
				*addr = sym.st_value;
				return 0;
			}
		}
	}
	return had_table ? -ENOENT : -ENODATA;
}

int elf_symbol_address(const char *path, const char *name, uint64_t *addr, struct errmsg *e)
{
	if (elf_version(EV_CURRENT) == EV_NONE)
		return errmsg_set(e, EINVAL, "libelf: %s", elf_errmsg(-1));
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	int rc;
	if (!elf || elf_kind(elf) != ELF_K_ELF)
		rc = errmsg_set(e, EINVAL, "%s: not an ELF file, so it has no symbols", path);
	else if ((rc = find_in_symtab(elf, name, addr)) == -ENOENT)
		rc = errmsg_set(e, ENOENT, "%s: no symbol '%s'", path, name);
	else if (rc == -ENODATA)
		rc = errmsg_set(e, ENODATA, "%s: no symbol table (stripped?)", path);
	if (elf)
		elf_end(elf);
	close(fd);
	return rc;
}

int elf_address_or_symbol(const char *path, const char *what, uint64_t *addr, struct errmsg *e)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(what, &end, 0);
	if (what[0] >= '0' && what[0] <= '9' && *end == '\0' && errno == 0) {
		*addr = v;
		return 0;
	}
	return elf_symbol_address(path, what, addr, e);
}
