/* The 256 interrupt stubs of the fallback test guests (fb_idt64.h): each pushes an error code
 * of 0 when the CPU pushes none, then its vector, and joins fb_common, which saves the scratch
 * registers, calls fb_dispatch(frame) on a 16-byte aligned stack, and returns with iretq. */
	.code64
	.section .text

	.p2align 4
	.globl fb_stubs
fb_stubs:
	vec = 0
	.rept 256
	.p2align 4
	.if (vec == 8 || (vec >= 10 && vec <= 14) || vec == 17 || vec == 21 || vec == 29 || vec == 30)
	.else
	pushq	$0
	.endif
	pushq	$vec
	jmp	fb_common
	vec = vec + 1
	.endr

fb_common:
	push	%rax
	push	%rcx
	push	%rdx
	push	%rsi
	push	%rdi
	push	%r8
	push	%r9
	push	%r10
	push	%r11
	push	%rbx
	mov	%rsp, %rdi
	mov	%rsp, %rbx
	and	$-16, %rsp
	cld
	call	fb_dispatch
	mov	%rbx, %rsp
	pop	%rbx
	pop	%r11
	pop	%r10
	pop	%r9
	pop	%r8
	pop	%rdi
	pop	%rsi
	pop	%rdx
	pop	%rcx
	pop	%rax
	add	$16, %rsp
	iretq

	.section .note.GNU-stack, "", @progbits
