/* ELF32/ELF64 executables to segment lists, through libelf: header and program header checks,
 * PT_LOAD segments only, loaded at p_paddr. Every offset and size is checked against the image. */
#include <errno.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>

#include "loader/loader_int.h"

/* A sane bound on the program header table; loadable segments are limited separately. */
#define LDR_MAX_PHDRS 4096

bool ldr_is_elf(const uint8_t *img, size_t len)
{
	return len >= SELFMAG && memcmp(img, ELFMAG, SELFMAG) == 0;
}

/* Checks done before libelf sees the image, so the reasons can be precise and so that libelf is
 * only ever given little-endian images (for those it reads headers in place or copies them; it
 * never converts the caller's buffer, which is why handing it a const image is safe). */
static int check_ident(const uint8_t *img, size_t len, struct errmsg *e)
{
	if (len < EI_NIDENT)
		return errmsg_set(e, EINVAL, "ELF header truncated: the image is %zu bytes", len);
	unsigned cls = img[EI_CLASS];
	if (cls != ELFCLASS32 && cls != ELFCLASS64)
		return errmsg_set(e, EINVAL, "ELF class %u is neither ELF32 nor ELF64", cls);
	if (img[EI_DATA] != ELFDATA2LSB)
		return errmsg_set(e, EINVAL, "ELF data encoding %u is not little-endian", img[EI_DATA]);
	if (img[EI_VERSION] != EV_CURRENT)
		return errmsg_set(e, EINVAL, "ELF ident version %u is not EV_CURRENT", img[EI_VERSION]);
	size_t need = cls == ELFCLASS64 ? sizeof(Elf64_Ehdr) : sizeof(Elf32_Ehdr);
	if (len < need)
		return errmsg_set(e, EINVAL, "ELF header truncated: the image is %zu bytes, an ELF%s header needs %zu",
				  len, cls == ELFCLASS64 ? "64" : "32", need);
	return 0;
}

static int check_ehdr(const GElf_Ehdr *eh, bool is64, struct errmsg *e)
{
	if (eh->e_type != ET_EXEC)
		return errmsg_set(e, EINVAL, "ELF type %u%s is not ET_EXEC: only executables linked at fixed addresses can be loaded",
				  eh->e_type, eh->e_type == ET_REL ? " (ET_REL, an object file)" :
				  eh->e_type == ET_DYN ? " (ET_DYN, position-independent)" : "");
	if (is64 && eh->e_machine != EM_X86_64)
		return errmsg_set(e, EINVAL, "ELF64 machine %u is not x86_64 (%u)", eh->e_machine, EM_X86_64);
	if (!is64 && eh->e_machine != EM_386)
		return errmsg_set(e, EINVAL, "ELF32 machine %u is not i386 (%u)", eh->e_machine, EM_386);
	size_t want = is64 ? sizeof(Elf64_Phdr) : sizeof(Elf32_Phdr);
	if (eh->e_phoff == 0 || eh->e_phnum == 0)
		return errmsg_set(e, EINVAL, "ELF image has no program headers");
	if (eh->e_phentsize != want)
		return errmsg_set(e, EINVAL, "ELF program header size %u, expected %zu", eh->e_phentsize, want);
	return 0;
}

/* One PT_LOAD to a segment. The image range and the address arithmetic are checked here,
 * the guest memory later, in ldr_segments_check(). */
static int take_phdr(const uint8_t *img, size_t len, size_t idx, const GElf_Phdr *ph,
		     struct ldr_seg *s, struct errmsg *e)
{
	snprintf(s->name, sizeof(s->name), "ELF segment %zu", idx);
	if (ph->p_filesz > ph->p_memsz)
		return errmsg_set(e, EINVAL, "%s: file size 0x%" PRIx64 " exceeds memory size 0x%" PRIx64,
				  s->name, (uint64_t)ph->p_filesz, (uint64_t)ph->p_memsz);
	if (ph->p_offset > len || ph->p_filesz > len - ph->p_offset)
		return errmsg_set(e, EINVAL, "%s file range [0x%" PRIx64 ", +0x%" PRIx64 ") exceeds the image of %zu bytes (truncated file?)",
				  s->name, (uint64_t)ph->p_offset, (uint64_t)ph->p_filesz, len);
	if (ph->p_memsz > UINT64_MAX - ph->p_paddr)
		return errmsg_set(e, EINVAL, "%s: physical range 0x%" PRIx64 " + 0x%" PRIx64 " wraps around",
				  s->name, (uint64_t)ph->p_paddr, (uint64_t)ph->p_memsz);
	if (ph->p_memsz > UINT64_MAX - ph->p_vaddr)
		return errmsg_set(e, EINVAL, "%s: virtual range 0x%" PRIx64 " + 0x%" PRIx64 " wraps around",
				  s->name, (uint64_t)ph->p_vaddr, (uint64_t)ph->p_memsz);
	s->paddr = ph->p_paddr;
	s->vaddr = ph->p_vaddr;
	s->memsz = ph->p_memsz;
	s->filesz = ph->p_filesz;
	s->data = ph->p_filesz ? img + ph->p_offset : NULL;
	return 0;
}

static int parse_phdrs(Elf *elf, const GElf_Ehdr *eh, const uint8_t *img, size_t len,
		       struct ldr_kernel *k, struct errmsg *e)
{
	/* e_phnum itself, not elf_getphdrnum(): libelf quietly shortens a table that runs past the
	 * end of the image, and a kernel with headers cut off must be refused, not half loaded. */
	size_t phnum = eh->e_phnum;
	if (phnum == PN_XNUM)
		return errmsg_set(e, EINVAL, "ELF extended program header numbering (PN_XNUM) is not supported");
	if (phnum > LDR_MAX_PHDRS)
		return errmsg_set(e, EINVAL, "ELF image has %zu program headers (at most %d supported)", phnum, LDR_MAX_PHDRS);
	uint64_t tbl = (uint64_t)phnum * eh->e_phentsize;
	if (eh->e_phoff > len || tbl > len - eh->e_phoff)
		return errmsg_set(e, EINVAL, "ELF program header table [0x%" PRIx64 ", +0x%" PRIx64 ") exceeds the image of %zu bytes",
				  (uint64_t)eh->e_phoff, tbl, len);

	k->nseg = 0;
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, (int)i, &ph))
			return errmsg_set(e, EINVAL, "ELF program header %zu unreadable: %s", i, elf_errmsg(-1));
		/* An empty PT_LOAD loads nothing; skipping it keeps zero-length ranges out of the checks. */
		if (ph.p_type != PT_LOAD || ph.p_memsz == 0)
			continue;
		if (k->nseg == LOADER_MAX_SEGMENTS)
			return errmsg_set(e, EINVAL, "ELF image has more than %d loadable segments", LOADER_MAX_SEGMENTS);
		int r = take_phdr(img, len, i, &ph, &k->seg[k->nseg], e);
		if (r < 0)
			return r;
		k->nseg++;
	}
	if (k->nseg == 0)
		return errmsg_set(e, EINVAL, "ELF image has no PT_LOAD segment with a non-zero size");
	return 0;
}

int ldr_elf_parse(const uint8_t *img, size_t len, struct ldr_kernel *k, struct errmsg *e)
{
	if (!ldr_is_elf(img, len))
		return errmsg_set(e, EINVAL, "not an ELF file");
	int r = check_ident(img, len, e);
	if (r < 0)
		return r;
	if (elf_version(EV_CURRENT) == EV_NONE)
		return errmsg_set(e, EINVAL, "libelf is unusable: %s", elf_errmsg(-1));
	/* libelf takes a char * but only reads it here (see check_ident). */
	Elf *elf = elf_memory((char *)(uintptr_t)img, len);
	if (!elf)
		return errmsg_set(e, EINVAL, "libelf refuses the image: %s", elf_errmsg(-1));
	GElf_Ehdr eh;
	if (elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh)) {
		r = errmsg_set(e, EINVAL, "ELF header unreadable: %s", elf_errmsg(-1));
		goto out;
	}
	k->is64 = gelf_getclass(elf) == ELFCLASS64;
	r = check_ehdr(&eh, k->is64, e);
	if (r < 0)
		goto out;
	k->entry = eh.e_entry;
	r = parse_phdrs(elf, &eh, img, len, k, e);
out:
	elf_end(elf);
	return r;
}
