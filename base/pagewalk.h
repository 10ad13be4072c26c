/* Guest-virtual to guest-physical translation by walking the guest's own page tables in guest
 * memory (no KVM): used by the disassembler, the debugger and crash reports. */
#ifndef DHYVE_BASE_PAGEWALK_H
#define DHYVE_BASE_PAGEWALK_H

#include <stddef.h>
#include <stdint.h>

#include "base/gmem.h"

/* The control state that decides how an address translates (from struct kvm_sregs). */
struct paging_regs {
	uint64_t cr0, cr3, cr4, efer;
};

enum pagewalk_result {
	PAGEWALK_OK = 0,
	PAGEWALK_NOT_PRESENT = -1, /* a level's entry has P clear */
	PAGEWALK_BAD_TABLE = -2,   /* a table lies outside guest RAM */
	PAGEWALK_NONCANONICAL = -3,/* a 64-bit address that is not canonical */
	PAGEWALK_RESERVED = -4,    /* reserved bits set in an entry */
};

struct pagewalk {
	uint64_t gpa;        /* the translation, when PAGEWALK_OK */
	uint64_t page_size;  /* 4 KiB (also with paging off), 2 MiB, 4 MiB or 1 GiB */
	int levels;          /* levels walked = entries read (0 with paging off); a not-present or
			      * reserved entry is counted, a table outside RAM is not */
	int failed_level;    /* where it failed: 5/4 = PML5/PML4, 3 = PDPT, 2 = PD, 1 = PT (32-bit
			      * paging: 2 = PD); 0 when it did not fail or failed before any table
			      * (non-canonical address) */
	uint64_t entries[5]; /* the entries read, top level first (32-bit entries zero-extended) */
	/* Rights from the table bits only (W and U ANDed, NX ORed over the levels read, NX only
	 * with EFER.NXE); CR0.WP, SMEP, SMAP and protection keys are the caller's business. */
	uint8_t writable, user, nx;
};

/* Translates gva under the paging mode pr describes: none (CR0.PG clear), 32-bit (with
 * CR4.PSE 4 MiB pages), PAE, 4-level and 5-level (CR4.LA57) long mode, with large pages.
 * gva is a linear address (segment base already added); outside long mode only its low 32
 * bits count, as on the CPU. The gpa may lie outside RAM (a 1 GiB page beyond the end): the
 * translation is still PAGEWALK_OK, and pagewalk_read then copies nothing. */
enum pagewalk_result pagewalk_translate(const struct gmem *m, const struct paging_regs *pr, uint64_t gva,
					struct pagewalk *out);
/* Copies len bytes at guest-virtual gva, page by page. Returns the bytes copied before the
 * first untranslatable or non-RAM byte (len when all were copied). */
size_t pagewalk_read(const struct gmem *m, const struct paging_regs *pr, uint64_t gva, void *dst, size_t len);
/* Same for writes (for the debugger's memory writes and breakpoints). */
size_t pagewalk_write(const struct gmem *m, const struct paging_regs *pr, uint64_t gva, const void *src,
		      size_t len);
const char *pagewalk_result_name(enum pagewalk_result r);

#endif
