/* The AP start-up trampoline of smp_cx16.elf: the BSP copies it to TRAMP_BASE (a SIPI vector's
 * page below 1 MiB) and fills in the stack and entry words; the AP comes out of SIPI in real
 * mode there, loads the loader's GDT (base/bootstate.h), and goes through 32-bit protected mode
 * to long mode on the loader's page tables, then jumps to the entry with that stack. */
#define TRAMP_BASE 0x60000
#define GDT_GPA 0x1000
#define PML4_GPA 0x2000
#define SEL_CODE64 0x08
#define SEL_DATA 0x10
#define SEL_CODE32 0x18
#define ABS(sym) (TRAMP_BASE + (sym) - cx16_tramp_start)

	.section .rodata
	.globl cx16_tramp_start, cx16_tramp_end, cx16_tramp_stack, cx16_tramp_entry
	.code16
cx16_tramp_start:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	tramp_gdtr - cx16_tramp_start
	mov	%cr0, %eax
	or	$1, %eax
	mov	%eax, %cr0
	ljmpl	$SEL_CODE32, $ABS(tramp32)

	.code32
tramp32:
	mov	$SEL_DATA, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$PML4_GPA, %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000000, %eax	/* PG: long mode is active */
	mov	%eax, %cr0
	ljmp	$SEL_CODE64, $ABS(tramp64)

	.code64
tramp64:
	mov	ABS(cx16_tramp_stack), %rsp
	jmp	*ABS(cx16_tramp_entry)

	.p2align 3
tramp_gdtr:
	.word	0x1f
	.long	GDT_GPA
	.p2align 3
cx16_tramp_stack:
	.quad	0
cx16_tramp_entry:
	.quad	0
cx16_tramp_end:

	.section .note.GNU-stack, "", @progbits
