/* Multiboot v1 header and entry of the 32-bit guests. The loader starts them per the Multiboot
 * spec: protected mode, paging off, EAX=0x2BADB002, EBX=multiboot info. mb_main(magic, mbi) is
 * the guest's C entry; should it return, the CPU halts.
 *
 * Built plainly, the header asks for page alignment and memory info (flags bits 0 and 1) and
 * the loader takes the layout from the ELF program headers. Built with -DMULTIBOOT_AOUT (the
 * image is then flattened with objcopy -O binary), it also sets bit 16, the "a.out kludge",
 * and gives the load addresses itself; the symbols come from guest32.ld. */
#define MB_HEADER_MAGIC 0x1BADB002
#define MB_PAGE_ALIGN   (1 << 0)
#define MB_MEMORY_INFO  (1 << 1)
#define MB_AOUT_KLUDGE  (1 << 16)
#ifdef MULTIBOOT_AOUT
#define MB_FLAGS (MB_PAGE_ALIGN | MB_MEMORY_INFO | MB_AOUT_KLUDGE)
#else
#define MB_FLAGS (MB_PAGE_ALIGN | MB_MEMORY_INFO)
#endif

	.section .multiboot, "a"	/* placed first by guest32.ld */
	.p2align 2
	.globl multiboot_header
multiboot_header:
	.long	MB_HEADER_MAGIC
	.long	MB_FLAGS
	.long	-(MB_HEADER_MAGIC + MB_FLAGS)
#ifdef MULTIBOOT_AOUT
	.long	multiboot_header	/* header_addr */
	.long	__image_start		/* load_addr: the flat image's first byte */
	.long	__load_end		/* load_end_addr: end of text and data */
	.long	__bss_end		/* bss_end_addr */
	.long	_start			/* entry_addr */
#endif

	.section .text.start, "ax"
	.code32
	.globl _start
	.type _start, @function
_start:
	mov	$0x9f000, %esp		/* BOOT_STACK_TOP (the loader sets it too) */
	cld
	sub	$8, %esp		/* keep %esp 16-byte aligned at the call */
	push	%ebx			/* multiboot info */
	push	%eax			/* magic */
	call	mb_main
1:	cli
	hlt
	jmp	1b
	.size _start, . - _start

	.section .note.GNU-stack, "", @progbits
