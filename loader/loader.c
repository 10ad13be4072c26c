/* The loader's entry points: read the kernel file, tell Multiboot from ELF64 from ELF32, and run
 * parse -> check -> write in that order, so a bad image is refused before guest RAM is touched. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader/loader_int.h"

/* Which kind of image this is; the parsed segments go into k. */
static int parse(const uint8_t *img, size_t len, struct ldr_kernel *k, enum kernel_format *fmt,
		 enum boot_mode *mode, struct errmsg *e)
{
	struct ldr_mb_header mb;
	size_t bad_magic;
	int r;

	if (ldr_mb_find(img, len, &mb, &bad_magic)) {
		/* Multiboot wins over the ELF class: kvm-unit-tests ships x86_64 code as ELF32
		 * with a Multiboot header, and it must start in 32-bit protected mode. */
		*fmt = KERNEL_MULTIBOOT;
		*mode = BOOT_MODE_PROT32;
		r = ldr_mb_check_flags(&mb, e);
		if (r < 0)
			return r;
		if (mb.flags & 0x10000u)
			return ldr_mb_parse_aout(img, len, &mb, k, e);
		if (!ldr_is_elf(img, len))
			return errmsg_set(e, EINVAL, "Multiboot header at offset 0x%zx has no a.out kludge (flag 16), so the image must be ELF, but it is not",
					  mb.offset);
		return ldr_elf_parse(img, len, k, e);
	}
	if (!ldr_is_elf(img, len)) {
		if (bad_magic != SIZE_MAX)
			return errmsg_set(e, EINVAL, "not an ELF file and no Multiboot header in the first 8 KiB (the Multiboot magic at offset 0x%zx has a bad checksum)",
					  bad_magic);
		return errmsg_set(e, EINVAL, "not an ELF file and no Multiboot header in the first 8 KiB");
	}
	r = ldr_elf_parse(img, len, k, e);
	if (r < 0)
		return r;
	*fmt = k->is64 ? KERNEL_ELF64 : KERNEL_ELF32;
	*mode = k->is64 ? BOOT_MODE_LONG64 : BOOT_MODE_PROT32;
	return 0;
}

/* Everything after the checks: segments, GDT, command line, then the mode's own structures. */
static int write_guest(const struct gmem *m, const struct ldr_kernel *k, enum kernel_format fmt,
		       enum boot_mode mode, const char *cmdline, size_t cmdlen, struct boot_state *bs,
		       struct errmsg *e)
{
	int r = ldr_segments_copy(m, k, e);
	if (r < 0)
		return r;
	r = ldr_write_gdt(m, bs, e);
	if (r < 0)
		return r;
	/* Written for every format: Multiboot points at it, and a plain ELF test kernel may read it
	 * from the fixed address. */
	if (gmem_write(m, BOOT_CMDLINE_GPA, cmdline, cmdlen) < 0 ||
	    gmem_zero(m, BOOT_CMDLINE_GPA + cmdlen, 1) < 0)
		return errmsg_set(e, EFAULT, "cannot write the command line at 0x%llx: not guest RAM", BOOT_CMDLINE_GPA);

	if (mode == BOOT_MODE_LONG64) {
		r = ldr_write_page_tables(m, e);
		if (r < 0)
			return r;
		ldr_state_long64(bs, k->entry_pa);
		return 0;
	}
	ldr_state_prot32(bs, (uint32_t)k->entry_pa); /* < 4 GiB: segments were checked */
	if (fmt == KERNEL_MULTIBOOT) {
		r = ldr_mb_write_info(m, e);
		if (r < 0)
			return r;
		bs->rax = MULTIBOOT_BOOTLOADER_MAGIC;
		bs->rbx = BOOT_MBI_GPA;
	}
	return 0;
}

int loader_load_image_opts(const struct gmem *m, const uint8_t *img, size_t len,
			   const struct loader_opts *o, struct boot_state *bs, struct kernel_info *info,
			   struct errmsg *e)
{
	if (!img || len == 0)
		return errmsg_set(e, EINVAL, "empty kernel image");
	if (len > LOADER_MAX_IMAGE)
		return errmsg_set(e, EFBIG, "kernel image of %zu bytes is larger than %llu MiB", len,
				  LOADER_MAX_IMAGE >> 20);
	struct loader_opts opts = *o;
	if (!opts.cmdline)
		opts.cmdline = "";
	size_t cmdlen = strnlen(opts.cmdline, LOADER_CMDLINE_MAX + 1);
	if (cmdlen > LOADER_CMDLINE_MAX)
		return errmsg_set(e, E2BIG, "kernel command line is longer than %d bytes", LOADER_CMDLINE_MAX);
	if (!gmem_map(m, 0, LDR_LOW_RAM)) {
		char ram[32];
		return errmsg_set(e, EINVAL, "guest RAM (%s) does not cover [0, 0x%llx), where the loader puts its boot structures and stack",
				  ldr_ram_str(m, ram, sizeof(ram)), LDR_LOW_RAM);
	}
	if (info)
		memset(info, 0, sizeof(*info));
	struct boot_state st;
	memset(&st, 0, sizeof(st));
	if (ldr_is_bzimage(img, len)) {
		int r = ldr_bzimage_load(m, img, len, &opts, cmdlen, &st, info, e);
		if (r >= 0)
			*bs = st;
		return r < 0 ? r : 0;
	}
	if (opts.initrd)
		return errmsg_set(e, EINVAL, "an initrd can only be given with a Linux bzImage kernel, and this is none (no \"HdrS\" at 0x202)");

	/* ~6 KiB of segment table: on the heap, so fuzzers with small stacks are fine too. */
	struct ldr_kernel *k = calloc(1, sizeof(*k));
	if (!k)
		return errmsg_set(e, ENOMEM, "out of memory");
	enum kernel_format fmt = 0;
	enum boot_mode mode = 0;

	int r = parse(img, len, k, &fmt, &mode, e);
	if (r >= 0)
		r = ldr_segments_check(m, k, mode, e);
	if (r >= 0)
		r = write_guest(m, k, fmt, mode, opts.cmdline, cmdlen, &st, e);
	if (r >= 0 && info) {
		info->format = fmt;
		info->entry = k->entry_pa;
		ldr_segments_span(k, &info->load_lo, &info->load_hi);
	}
	if (r >= 0)
		*bs = st;
	free(k);
	return r < 0 ? r : 0;
}

int loader_load_image(const struct gmem *m, const uint8_t *img, size_t len, const char *cmdline,
		      struct boot_state *bs, struct kernel_info *info, struct errmsg *e)
{
	struct loader_opts o = { .cmdline = cmdline };
	return loader_load_image_opts(m, img, len, &o, bs, info, e);
}

/* The whole file in one buffer: kernels are small, and libelf wants the image in memory. what
 * ("kernel", "initrd") names the file in messages; max is the largest size accepted. */
static int read_file(const char *what, const char *path, uint64_t max, uint8_t **buf, size_t *len,
		     struct errmsg *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int err = errno;
		return errmsg_set(e, err, "cannot open %s %s: %s", what, path, strerror(err));
	}
	struct stat st;
	int r = 0;
	if (fstat(fd, &st) < 0) {
		int err = errno;
		r = errmsg_set(e, err, "cannot stat %s %s: %s", what, path, strerror(err));
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		r = errmsg_set(e, EISDIR, "%s %s: %s", what, path, strerror(EISDIR));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = errmsg_set(e, EINVAL, "%s %s is not a regular file", what, path);
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = errmsg_set(e, EFBIG, "%s %s is %lld bytes, more than the %llu MiB limit: %s", what, path,
			       (long long)st.st_size, (unsigned long long)(max >> 20), strerror(EFBIG));
		goto out;
	}
	size_t size = (size_t)st.st_size;
	uint8_t *p = malloc(size ? size : 1);
	if (!p) {
		r = errmsg_set(e, ENOMEM, "%s %s: no memory for %zu bytes", what, path, size);
		goto out;
	}
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, p + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int err = errno;
			r = errmsg_set(e, err, "cannot read %s %s: %s", what, path, strerror(err));
			free(p);
			goto out;
		}
		if (n == 0) { /* shrank under us: load what is there, the parser checks every range */
			break;
		}
		got += (size_t)n;
	}
	*buf = p;
	*len = got;
out:
	close(fd);
	return r;
}

int loader_load_file_opts(const struct gmem *m, const char *path, const struct loader_opts *o,
			  struct boot_state *bs, struct kernel_info *info, struct errmsg *e)
{
	uint8_t *img = NULL, *initrd = NULL;
	size_t len = 0, initrd_len = 0;
	struct loader_opts opts = *o;
	int r = read_file("kernel", path, LOADER_MAX_IMAGE, &img, &len, e);
	if (r < 0)
		return r;
	if (len == 0) {
		r = errmsg_set(e, EINVAL, "kernel %s is empty", path);
		goto out;
	}
	if (opts.initrd_path) {
		/* Larger than all of guest RAM can never fit: refused before reading it. */
		r = read_file("initrd", opts.initrd_path, m->ram_size, &initrd, &initrd_len, e);
		if (r == -EFBIG) {
			char ram[32];
			r = errmsg_set(e, EFBIG, "initrd %s is larger than guest RAM (%s)", opts.initrd_path,
				       ldr_ram_str(m, ram, sizeof(ram)));
		}
		if (r < 0)
			goto out;
		if (initrd_len == 0) {
			r = errmsg_set(e, EINVAL, "initrd %s is empty", opts.initrd_path);
			goto out;
		}
		opts.initrd = initrd;
		opts.initrd_len = initrd_len;
	}
	if ((r = loader_load_image_opts(m, img, len, &opts, bs, info, e)) < 0 && e) {
		/* Every message of this function names the file, as the read errors above do. */
		struct errmsg inner = *e;
		errmsg_set(e, r, "kernel %s: %s", path, inner.text);
	}
out:
	free(img);
	free(initrd);
	return r;
}

int loader_load_file(const struct gmem *m, const char *path, const char *cmdline,
		     struct boot_state *bs, struct kernel_info *info, struct errmsg *e)
{
	struct loader_opts o = { .cmdline = cmdline };
	return loader_load_file_opts(m, path, &o, bs, info, e);
}
