/* Entry of the ELF64 guests. dhyve starts them in long mode at CPL0 with an identity map of
 * the first 4 GiB, CS=0x08, DS/ES/SS=0x10, RSP=0x9f000 and interrupts off (see
 * base/bootstate.h). Each guest provides kmain(); should it return, the CPU halts. */
	.section .text.start, "ax"
	.code64
	.globl _start
	.type _start, @function
_start:
	mov	$0x9f000, %rsp		/* BOOT_STACK_TOP (the loader sets it too) */
	cld
	call	kmain			/* %rsp+8 is 16-byte aligned at kmain's entry */
1:	cli
	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
