/* 64-bit entry: an identity map of the first 4 GiB with 2 MiB pages, and the long-mode CPU state
 * (paging on, PAE, LME/LMA, 64-bit code segment), so an ELF64 kernel starts without a trampoline. */
#include <errno.h>
#include <string.h>

#include "loader/loader_int.h"

#define PTE_P  0x1ull
#define PTE_RW 0x2ull
#define PTE_PS 0x80ull
#define PAGE   0x1000ull
#define NR_PD  4 /* 4 page directories x 512 x 2 MiB = 4 GiB */

/* The map covers 4 GiB whatever the RAM size: addresses without RAM behind them fault as MMIO
 * exits, not page faults, and the low 4 GiB is where the kernel, our structures and the
 * local APIC/IOAPIC windows all live. */
int ldr_write_page_tables(const struct gmem *m, struct errmsg *e)
{
	uint64_t t[512];

	memset(t, 0, sizeof(t));
	t[0] = BOOT_PDPT_GPA | PTE_P | PTE_RW;
	if (gmem_write(m, BOOT_PML4_GPA, t, sizeof(t)) < 0)
		goto fault;

	memset(t, 0, sizeof(t));
	for (unsigned i = 0; i < NR_PD; i++)
		t[i] = (BOOT_PD_GPA + i * PAGE) | PTE_P | PTE_RW;
	if (gmem_write(m, BOOT_PDPT_GPA, t, sizeof(t)) < 0)
		goto fault;

	for (unsigned i = 0; i < NR_PD; i++) {
		for (unsigned j = 0; j < 512; j++)
			t[j] = (((uint64_t)i * 512 + j) << 21) | PTE_P | PTE_RW | PTE_PS;
		if (gmem_write(m, BOOT_PD_GPA + i * PAGE, t, sizeof(t)) < 0)
			goto fault;
	}
	return 0;
fault:
	return errmsg_set(e, EFAULT, "cannot write the page tables at 0x%llx-0x%llx: not guest RAM",
			  BOOT_PML4_GPA, BOOT_PD_GPA + NR_PD * PAGE);
}

void ldr_state_long64(struct boot_state *bs, uint64_t entry)
{
	bs->mode = BOOT_MODE_LONG64;
	bs->rip = entry;
	bs->rsp = BOOT_STACK_TOP;
	bs->rflags = 0x2;
	bs->cr0 = 0x80050033; /* PE | MP | ET | NE | WP | PG */
	bs->cr3 = BOOT_PML4_GPA;
	bs->cr4 = 0x20;       /* PAE */
	bs->efer = 0x500;     /* LME | LMA */
	bs->cs = (struct boot_segment){
		.base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_CODE64,
		.type = 0xb, .present = 1, .dpl = 0, .db = 0, .s = 1, .l = 1, .g = 1,
	};
	/* Long mode ignores most of the data segment, but KVM checks that it is a valid one. */
	bs->ds = ldr_data_seg;
}
