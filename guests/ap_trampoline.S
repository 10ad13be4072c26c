/* Start-up code of the application processors for SMP test guests. The BSP copies the bytes
 * between ap_trampoline and ap_trampoline_end to AP_TRAMPOLINE_GPA (below 1 MiB, where a SIPI
 * can point) and sends INIT-SIPI-SIPI; each AP arrives here in real mode at CS:IP = 0x6000:0,
 * switches straight to long mode with the loader's GDT (0x1000) and page tables (0x2000), takes
 * a stack by its APIC ID and calls ap_main(apic_id). Position-dependent: it runs only at 0x60000. */
#define AP_TRAMPOLINE_GPA 0x60000
#define AP_STACK_BASE     0x40000	/* APIC ID n: stack top 0x40000 + (n+1)*0x2000 (n < 8) */
#define REL(sym)          (sym - ap_trampoline)

	.section .text, "ax"
	.code16
	.globl ap_trampoline, ap_trampoline_end
ap_trampoline:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	REL(ap_gdt_desc)
	mov	$0x2000, %eax		/* BOOT_PML4_GPA: identity map of the first 4 GiB */
	mov	%eax, %cr3
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	$0xc0000080, %ecx	/* EFER.LME */
	rdmsr
	or	$0x100, %eax
	wrmsr
	mov	%cr0, %eax
	or	$0x80000001, %eax	/* PG | PE: real mode straight to long mode */
	mov	%eax, %cr0
	ljmpl	$0x08, $(AP_TRAMPOLINE_GPA + REL(ap_long))

	.code64
ap_long:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	$1, %eax
	cpuid
	shr	$24, %ebx		/* initial APIC ID */
	and	$7, %ebx
	lea	1(%rbx), %rax
	shl	$13, %rax
	add	$AP_STACK_BASE, %rax
	mov	%rax, %rsp
	mov	%ebx, %edi
	movabs	$ap_main, %rax
	call	*%rax
1:	cli
	hlt
	jmp	1b

	.p2align 3
ap_gdt_desc:
	.word	31			/* the loader's GDT: null, code64, data, code32 */
	.long	0x1000
ap_trampoline_end:

	.section .note.GNU-stack, "", @progbits
