/* IDT, GDT, TSS and report helpers of the fallback test guests (see fb_idt64.h). */
#include "fb_idt64.h"

struct __attribute__((packed)) desc_ptr {
	uint16_t limit;
	uint64_t base;
};

struct __attribute__((packed)) tss64 {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap_base;
};

extern char fb_stubs[];
static uint64_t idt[256][2] __attribute__((aligned(16)));
static uint64_t gdt[8] __attribute__((aligned(16))) = {
	[0] = 0,
	[1] = 0x00af9b000000ffffull, /* 0x08 kernel code, 64-bit */
	[2] = 0x00cf93000000ffffull, /* 0x10 kernel data */
	[3] = 0x00cf9b000000ffffull, /* 0x18 code, 32-bit */
	[4] = 0x00cff3000000ffffull, /* 0x20 user data (DPL 3) */
	[5] = 0x00affb000000ffffull, /* 0x28 user code, 64-bit (DPL 3) */
	/* [6], [7]: the TSS descriptor, filled in by fb_idt_init */
};
static struct tss64 tss __attribute__((aligned(16)));
static fb_handler_fn handlers[256];

const char *fb_test_name = "guest";
unsigned fb_failures;

void fb_idt_set_gate(unsigned vec, unsigned type, unsigned dpl, unsigned ist, bool present)
{
	uint64_t off = (uint64_t)(uintptr_t)(fb_stubs + 16 * vec);
	idt[vec][0] = (off & 0xffff) | ((uint64_t)FB_SEL_KCODE << 16) | ((uint64_t)(ist & 7) << 32) |
		      ((uint64_t)(type & 0xf) << 40) | ((uint64_t)(dpl & 3) << 45) | ((uint64_t)present << 47) |
		      ((off >> 16 & 0xffff) << 48);
	idt[vec][1] = off >> 32;
}

void fb_idt_set_handler(unsigned vec, fb_handler_fn fn)
{
	handlers[vec & 255] = fn;
}

void fb_dispatch(struct fb_frame *f);
void fb_dispatch(struct fb_frame *f)
{
	fb_handler_fn fn = handlers[f->vector & 255];
	if (fn) {
		fn(f);
		return;
	}
	serial_puts(fb_test_name);
	serial_puts(": FAIL unexpected vector ");
	serial_putu((uint32_t)f->vector);
	serial_puts(" at rip ");
	fb_puthex(f->rip);
	serial_puts(" error ");
	fb_puthex(f->error);
	serial_putc('\n');
	power_off();
}

void fb_idt_init(uint64_t rsp0, uint64_t ist1)
{
	uint64_t base = (uint64_t)(uintptr_t)&tss, limit = sizeof(tss) - 1;
	tss.rsp[0] = rsp0;
	tss.ist[0] = ist1;
	tss.iomap_base = sizeof(tss);
	gdt[6] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | ((limit >> 16 & 0xf) << 48) |
		 ((base >> 24 & 0xff) << 56);
	gdt[7] = base >> 32;
	struct desc_ptr g = { sizeof(gdt) - 1, (uint64_t)(uintptr_t)gdt };
	__asm__ volatile("lgdt %0\n\t"
			 "pushq %1\n\t"
			 "leaq 1f(%%rip), %%rax\n\t"
			 "pushq %%rax\n\t"
			 "lretq\n"
			 "1:\n\t"
			 "mov %2, %%eax\n\t"
			 "mov %%eax, %%ds\n\t"
			 "mov %%eax, %%es\n\t"
			 "mov %%eax, %%ss\n\t"
			 "mov %3, %%eax\n\t"
			 "ltr %%ax"
			 : : "m"(g), "i"(FB_SEL_KCODE), "i"(FB_SEL_KDATA), "i"(FB_SEL_TSS) : "rax", "memory");
	for (unsigned v = 0; v < 256; v++)
		fb_idt_set_gate(v, FB_GATE_INT, 0, 0, true);
	struct desc_ptr i = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
	__asm__ volatile("lidt %0" : : "m"(i) : "memory");
}

void fb_user_pages(void)
{
	/* The loader's identity map (base/bootstate.h): PML4 0x2000, PDPT 0x3000, PDs 0x4000. */
	volatile uint64_t *pml4 = (uint64_t *)0x2000, *pdpt = (uint64_t *)0x3000, *pd = (uint64_t *)0x4000;
	pml4[0] |= 4;
	pdpt[0] |= 4;
	pd[0] |= 4;
	uint64_t cr3;
	__asm__ volatile("mov %%cr3, %0; mov %0, %%cr3" : "=r"(cr3) : : "memory");
}

void fb_enter_ring3(uint64_t rip, uint64_t rsp, uint64_t rflags)
{
	__asm__ volatile("mov %0, %%ds\n\t"
			 "mov %0, %%es\n\t"
			 "pushq %0\n\t"
			 "pushq %1\n\t"
			 "pushq %2\n\t"
			 "pushq %3\n\t"
			 "pushq %4\n\t"
			 "iretq"
			 : : "r"((uint64_t)FB_SEL_UDATA), "r"(rsp), "r"(rflags), "i"((uint64_t)FB_SEL_UCODE), "r"(rip)
			 : "memory");
	__builtin_unreachable();
}

void fb_puthex(uint64_t v)
{
	static const char digits[] = "0123456789abcdef";
	serial_puts("0x");
	for (int s = 60; s >= 0; s -= 4)
		serial_putc(digits[(v >> s) & 0xf]);
}

void fb_check(const char *what, bool ok)
{
	serial_puts(fb_test_name);
	serial_puts(ok ? ": PASS " : ": FAIL ");
	serial_puts(what);
	serial_putc('\n');
	fb_failures += !ok;
}

void fb_finish(void)
{
	serial_puts(fb_test_name);
	serial_puts(": done, ");
	serial_putu(fb_failures);
	serial_puts(" failures\n");
	power_off();
}

void fb_set_ist1(uint64_t top)
{
	tss.ist[0] = top;
}
