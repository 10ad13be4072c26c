/* fb_iret32.elf: a 32-bit protected-mode (Multiboot) guest that takes int $0x30 and int $0x31
 * and returns with iret, which this KVM fails to emulate at CPL0 (dhyve's fallback completes it:
 * EIP, CS, EFLAGS popped, IF restored); then an iret to ring 3 (SS:ESP popped too, data
 * segments the outer ring may not keep made null), back through #UD and the TSS. */
#include <stdbool.h>

#include "guest.h"

#define SEL_CODE 0x18  /* the loader's flat 32-bit code segment */
#define SEL_DATA 0x10
#define SEL_UCODE 0x2b /* ours: 32-bit user code, DPL 3 */
#define SEL_UDATA 0x33 /* user data, DPL 3 */
#define SEL_TSS 0x38

struct frame {
	uint32_t edi, esi, ebp, esp_ignored, ebx, edx, ecx, eax;
	uint32_t vector;
	uint32_t eip, cs, eflags, esp, ss; /* esp and ss only from ring 3 */
};

static uint64_t gdt[8] __attribute__((aligned(8))) = {
	[0] = 0,
	[1] = 0x00af9b000000ffffull, /* 0x08 (unused here) */
	[2] = 0x00cf93000000ffffull, /* 0x10 data */
	[3] = 0x00cf9b000000ffffull, /* 0x18 code, 32-bit */
	[5] = 0x00cffb000000ffffull, /* 0x28 user code, 32-bit, DPL 3 */
	[6] = 0x00cff3000000ffffull, /* 0x30 user data, DPL 3 */
	/* [7] TSS */
};
static uint32_t tss[26] __attribute__((aligned(8)));
static uint64_t idt[256] __attribute__((aligned(8)));
static volatile struct frame last;
static volatile uint32_t hits, in_eflags, resume_esp;
static uint32_t user_stack[256] __attribute__((aligned(16)));
static unsigned failures;

void on_int(struct frame *f);
void on_int(struct frame *f)
{
	uint32_t fl;
	__asm__ volatile("pushfl; popl %0" : "=r"(fl));
	last = *f;
	in_eflags = fl;
	hits++;
}

/* Stubs: vector, pusha, on_int(frame), popa, iret. The #UD stub (from ring 3) records the frame
 * and resumes the kernel where test_ring3 left it, on the kernel stack. */
__asm__(".text\n"
	"isr_common:\n\t"
	"pusha\n\t"
	"push %esp\n\t"
	"call on_int\n\t"
	"add $4, %esp\n\t"
	"popa\n\t"
	"add $4, %esp\n\t"
	"iret\n"
	"isr30: pushl $0x30; jmp isr_common\n"
	"isr31: pushl $0x31; jmp isr_common\n"
	"isr_ud:\n\t"
	"pushl $6\n\t"
	"pusha\n\t"
	"mov $0x10, %ax\n\t"
	"mov %ax, %ds\n\t"
	"mov %ax, %es\n\t"
	"push %esp\n\t"
	"call on_int\n\t"
	"mov resume_esp, %esp\n\t"
	"ret\n"
	"user_code: ud2\n");
extern char isr30[], isr31[], isr_ud[], user_code[];

static void check(const char *what, bool ok)
{
	serial_puts(ok ? "fb_iret32: PASS " : "fb_iret32: FAIL ");
	serial_puts(what);
	serial_putc('\n');
	failures += !ok;
}

static void set_gate(unsigned vec, const void *fn, unsigned type)
{
	uint32_t off = (uint32_t)(uintptr_t)fn;
	idt[vec] = (off & 0xffff) | ((uint64_t)SEL_CODE << 16) | ((uint64_t)type << 40) | (1ull << 47) |
		   ((uint64_t)(off >> 16) << 48);
}

static uint32_t eflags(void)
{
	uint32_t f;
	__asm__ volatile("pushfl; popl %0" : "=r"(f) : : "memory");
	return f;
}

static void test_same_ring(void)
{
	uint32_t ret, esp_before, esp_after, fl_before, fl_after;
	hits = 0;
	__asm__ volatile("sti\n\t"
			 "nop\n\t"
			 "pushfl\n\t"
			 "popl %2\n\t"
			 "mov %%esp, %1\n\t"
			 "movl $1f, %0\n\t"
			 "int $0x30\n"
			 "1:\n\t"
			 "mov %%esp, %3\n\t"
			 "pushfl\n\t"
			 "popl %4\n\t"
			 "cli"
			 : "=&r"(ret), "=&r"(esp_before), "=&r"(fl_before), "=&r"(esp_after), "=&r"(fl_after) : : "memory");
	check("int $0x30 reached its handler", hits == 1 && last.vector == 0x30);
	check("frame: EIP after the int, CS, EFLAGS", last.eip == ret && last.cs == SEL_CODE && last.eflags == fl_before);
	check("interrupt gate: IF clear in the handler", !(in_eflags & 0x200));
	check("iret returned: ESP balanced, IF set again", esp_after == esp_before && (fl_after & 0x200));
	hits = 0;
	__asm__ volatile("sti; nop; int $0x31; cli" : : : "memory");
	check("int $0x31 through a trap gate: IF set in the handler", hits == 1 && (in_eflags & 0x200));
	for (int i = 0; i < 20; i++)
		__asm__ volatile("int $0x30" : : : "memory");
	check("20 more int/iret round trips", hits == 21);
}

/* iret to ring 3: pops SS:ESP too, and the kernel's DS/ES (DPL 0) become null there. */
static void test_ring3(void)
{
	uint64_t base = (uint32_t)(uintptr_t)tss, limit = sizeof(tss) - 1;
	gdt[7] = (limit & 0xffff) | ((base & 0xffffff) << 16) | (0x89ull << 40) | ((base >> 24) << 56);
	tss[1] = 0x9c000; /* ESP0 */
	tss[2] = SEL_DATA; /* SS0 */
	__asm__ volatile("ltr %w0" : : "r"(SEL_TSS));
	hits = 0;
	uint32_t esp3 = (uint32_t)(uintptr_t)(user_stack + 256);
	__asm__ volatile("call 1f\n\t"
			 "jmp 2f\n"
			 "1:\n\t"
			 "mov %%esp, resume_esp\n\t"
			 "pushl %0\n\t"
			 "pushl %1\n\t"
			 "pushl $0x2\n\t"
			 "pushl %2\n\t"
			 "pushl %3\n\t"
			 "iret\n"
			 "2:"
			 : : "i"(SEL_UDATA), "r"(esp3), "i"(SEL_UCODE), "r"(user_code) : "eax", "memory");
	check("iret to ring 3, #UD there comes back through the TSS",
	      hits == 1 && last.vector == 6 && last.cs == SEL_UCODE && last.eip == (uint32_t)(uintptr_t)user_code);
	check("ring-3 frame: SS:ESP as iret loaded them", last.ss == SEL_UDATA && last.esp == esp3);
}

void mb_main(uint32_t magic, uint32_t mbi)
{
	(void)magic;
	(void)mbi;
	struct __attribute__((packed)) { uint16_t limit; uint32_t base; } g = { sizeof(gdt) - 1, (uint32_t)(uintptr_t)gdt },
									   i = { sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
	__asm__ volatile("lgdt %0\n\t"
			 "ljmp %1, $1f\n"
			 "1:" : : "m"(g), "i"(SEL_CODE) : "memory");
	set_gate(0x30, isr30, 0xe);
	set_gate(0x31, isr31, 0xf);
	set_gate(6, isr_ud, 0xe);
	__asm__ volatile("lidt %0" : : "m"(i) : "memory");
	check("32-bit protected mode, CPL0", eflags() & 2);
	test_same_ring();
	test_ring3();
	serial_puts("fb_iret32: done, ");
	serial_putu(failures);
	serial_puts(" failures\n");
	power_off();
}
