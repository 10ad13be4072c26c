/* The CPU state a loader asks the boot vCPU to start in, and where the loader's own boot
 * structures live in guest memory. Plain data: the loader fills it, vmm/ applies it with KVM. */
#ifndef DHYVE_BASE_BOOTSTATE_H
#define DHYVE_BASE_BOOTSTATE_H

#include <stdint.h>

/* Guest-physical layout of what the loader builds below 1 MiB. Kernel segments must not
 * reach below BOOT_KERNEL_MIN so that none of this can be overwritten by an image. */
#define BOOT_GDT_GPA      0x1000ull  /* GDT: null, code64 (0x08), data (0x10), code32 (0x18) */
#define BOOT_PML4_GPA     0x2000ull  /* identity map of the first 4 GiB, 2 MiB pages */
#define BOOT_PDPT_GPA     0x3000ull
#define BOOT_PD_GPA       0x4000ull  /* four page directories, 0x4000-0x7fff */
#define BOOT_MBI_GPA      0x8000ull  /* Multiboot info struct and memory map */
#define BOOT_CMDLINE_GPA  0x9000ull  /* kernel command line, NUL-terminated, <= 4 KiB */
#define BOOT_ZEROPAGE_GPA 0xa000ull  /* Linux boot_params, 4 KiB */
#define BOOT_STACK_TOP    0x9f000ull /* initial RSP/ESP, grows down into free low memory */
#define BOOT_KERNEL_MIN   0x100000ull

#define BOOT_SEL_CODE64 0x08
#define BOOT_SEL_DATA   0x10
#define BOOT_SEL_CODE32 0x18

enum boot_mode {
	BOOT_MODE_LONG64 = 1, /* 64-bit long mode, paging on (identity map) */
	BOOT_MODE_PROT32 = 2, /* 32-bit protected mode, paging off, flat segments */
};

/* A segment register as KVM wants it (struct kvm_segment), without the KVM header. */
struct boot_segment {
	uint64_t base;
	uint32_t limit;
	uint16_t selector;
	uint8_t type, present, dpl, db, s, l, g;
};

struct boot_state {
	enum boot_mode mode;
	uint64_t rip, rsp, rflags;
	uint64_t rax, rbx, rsi;        /* Multiboot: EAX magic, EBX info address; Linux: RSI boot_params */
	uint64_t cr0, cr3, cr4, efer;
	struct boot_segment cs, ds;    /* ds is used for ds, es, fs, gs and ss */
	uint64_t gdt_base;
	uint16_t gdt_limit;
};

#endif
