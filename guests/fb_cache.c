/* fb_cache.elf: cache-line and TLB instructions at CPL0: clwb fails to emulate here (dhyve's
 * fallback completes it: memory is coherent), clflushopt/clflush run; invpcid is completed with
 * a flush of KVM's cached translations and raises #GP for an invalid type. */
#include "fb_idt64.h"

static volatile uint64_t hits, last_vector, skip;
static uint64_t line[8] __attribute__((aligned(64))) = { 42 };

static void on_fault(struct fb_frame *f)
{
	hits++;
	last_vector = f->vector;
	f->rip += skip;
}

static void invpcid(uint64_t type, const uint64_t desc[2])
{
	__asm__ volatile("invpcid %1, %0" : : "r"(type), "m"(*(const uint64_t(*)[2])desc) : "memory");
}

void kmain(void)
{
	fb_test_name = "fb_cache";
	fb_idt_init(0x9f000, 0x9f000);
	fb_idt_set_handler(13, on_fault);
	fb_idt_set_handler(14, on_fault);
	__asm__ volatile("clwb %0" : "+m"(line[0]));
	__asm__ volatile("clflushopt %0" : "+m"(line[0]));
	__asm__ volatile("clflush %0" : "+m"(line[0]));
	fb_check("clwb, clflushopt, clflush complete, data intact", hits == 0 && line[0] == 42);

	/* Remap a page under a live mapping, then invpcid: the new page must show through. */
	static uint64_t pt[512] __attribute__((aligned(4096)));
	static uint64_t page_a[512] __attribute__((aligned(4096))) = { 0xaaaa };
	static uint64_t page_b[512] __attribute__((aligned(4096))) = { 0xbbbb };
	volatile uint64_t *pd1 = (uint64_t *)0x5000; /* the loader's PD for 1-2 GiB */
	uint64_t saved = pd1[0];
	pt[0] = (uint64_t)(uintptr_t)page_a | 3;
	pd1[0] = (uint64_t)(uintptr_t)pt | 3;
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
	volatile uint64_t *va = (uint64_t *)0x40000000ull;
	uint64_t seen_a = *va;
	pt[0] = (uint64_t)(uintptr_t)page_b | 3;
	const uint64_t one[2] = { 0, 0x40000000ull };
	invpcid(0, one); /* individual address */
	uint64_t seen_b = *va;
	const uint64_t all[2] = { 0, 0 };
	invpcid(2, all); /* all contexts, globals included */
	fb_check("invpcid completes, the remapped page shows", hits == 0 && seen_a == 0xaaaa && seen_b == 0xbbbb);
	skip = 5;
	invpcid(4, all);
	fb_check("invpcid with type 4 raises #GP", hits == 1 && last_vector == 13);
	pd1[0] = saved;
	__asm__ volatile("mov %0, %%cr3" : : "r"(cr3) : "memory");
	fb_finish();
}
