/* The GDT every entry mode uses (null, code64 0x08, data 0x10, code32 0x18) and the 32-bit
 * protected-mode entry state; the CPU's hidden segment state must match these descriptors. */
#include <errno.h>
#include <string.h>

#include "loader/loader_int.h"

/* Flat 4 GiB descriptors, present, DPL 0, accessed (type 0xb/0x3) so the CPU never writes them. */
static const uint64_t gdt[LDR_GDT_ENTRIES] = {
	[0] = 0,
	[BOOT_SEL_CODE64 / 8] = 0x00af9b000000ffffull, /* L=1, D=0, G=1 */
	[BOOT_SEL_DATA / 8]   = 0x00cf93000000ffffull, /* D/B=1, G=1 */
	[BOOT_SEL_CODE32 / 8] = 0x00cf9b000000ffffull, /* D=1, G=1 */
};

int ldr_write_gdt(const struct gmem *m, struct boot_state *bs, struct errmsg *e)
{
	if (gmem_write(m, BOOT_GDT_GPA, gdt, sizeof(gdt)) < 0)
		return errmsg_set(e, EFAULT, "cannot write the GDT at 0x%llx: not guest RAM", BOOT_GDT_GPA);
	bs->gdt_base = BOOT_GDT_GPA;
	bs->gdt_limit = sizeof(gdt) - 1;
	return 0;
}

const struct boot_segment ldr_data_seg = {
	.base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_DATA,
	.type = 0x3, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
};

/* Paging off, flat segments, interrupts off: what Multiboot promises, and what a plain ELF32
 * kernel gets too (its EAX/EBX are left 0 by the caller). */
void ldr_state_prot32(struct boot_state *bs, uint32_t entry)
{
	bs->mode = BOOT_MODE_PROT32;
	bs->rip = entry;
	bs->rsp = BOOT_STACK_TOP;
	bs->rflags = 0x2;
	bs->cr0 = 0x11; /* PE | ET */
	bs->cr3 = 0;
	bs->cr4 = 0;
	bs->efer = 0;
	bs->cs = (struct boot_segment){
		.base = 0, .limit = 0xffffffff, .selector = BOOT_SEL_CODE32,
		.type = 0xb, .present = 1, .dpl = 0, .db = 1, .s = 1, .l = 0, .g = 1,
	};
	bs->ds = ldr_data_seg;
}
