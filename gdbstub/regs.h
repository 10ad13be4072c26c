/* The registers gdb sees, their numbering in our x86-64 target description, and the g/G/p/P
 * encodings. Pure: works on a gdb_cpu_state copied from and back to the vCPU by the stub. */
#ifndef DHYVE_GDBSTUB_REGS_H
#define DHYVE_GDBSTUB_REGS_H

#include <linux/kvm.h>
#include <stddef.h>
#include <stdint.h>

struct gdb_cpu_state {
	struct kvm_regs regs;
	struct kvm_sregs sregs;
	struct kvm_fpu fpu;
	uint64_t k_gs_base; /* MSR 0xc0000102 */
};

/* Remote register numbers (regnum in the description, also the g/G order):
 *   0-15 rax rbx rcx rdx rsi rdi rbp rsp r8..r15 (8 bytes)   16 rip (8)   17 eflags (4)
 *   18-23 cs ss ds es fs gs (4: the selector only)   24-31 st0..st7 (10)
 *   32-39 fctrl fstat ftag fiseg fioff foseg fooff fop (4)   40-55 xmm0..xmm15 (16)
 *   56 mxcsr (4)   57 fs_base   58 gs_base   59 k_gs_base   60 cr0   61 cr2   62 cr3   63 cr4
 *   64 cr8   65 efer (8 each). Values are little-endian hex. */
#define GDB_REGNUM_RSP 7
#define GDB_REGNUM_RIP 16
#define GDB_REGNUM_EFLAGS 17

/* Which parts a write touched, so the stub writes back only those (a vCPU ioctl is ~5 µs). */
enum gdb_dirty {
	GDB_DIRTY_REGS = 1,
	GDB_DIRTY_SREGS = 2,
	GDB_DIRTY_FPU = 4,
	GDB_DIRTY_KGSBASE = 8,
};

/* The target description for qXfer:features:read:ANNEX; NULL for an unknown annex. */
const char *gdb_target_xml(const char *annex, size_t *len);
/* Number of registers in the description (remote numbers 0 .. count-1, no gaps). */
unsigned gdb_reg_count(void);
/* Name and size in bytes of register regno as in the description; NULL / -1 if unknown. */
const char *gdb_reg_name(unsigned regno);
int gdb_reg_size(unsigned regno);

/* 'g': all registers as hex, in description order. Returns chars written (without NUL) or
 * -1 if cap is too small. */
long gdb_regs_encode_all(const struct gdb_cpu_state *st, char *out, size_t cap);
/* 'G': all registers from hex; -1 on a bad length or digit (st unchanged then). The length must
 * be exactly that of a 'g' reply. The writers OR into *dirty (may be NULL) the parts whose
 * contents actually changed, so the caller starts from 0 and writes back only those. */
int gdb_regs_decode_all(struct gdb_cpu_state *st, const char *hex, size_t len, unsigned *dirty);
/* 'p' / 'P' for register regno; -1 for an unknown number or bad hex. p needs cap >= 2*size+1
 * (it NUL-terminates); P needs exactly 2*size hex digits. */
long gdb_reg_read(const struct gdb_cpu_state *st, unsigned regno, char *out, size_t cap);
int gdb_reg_write(struct gdb_cpu_state *st, unsigned regno, const char *hex, size_t len, unsigned *dirty);

/* x87 tag word conversions between KVM's abridged FXSAVE tag (kvm_fpu.ftwx, one bit per
 * physical register) and the full 16-bit tag word gdb shows as ftag. Going to full computes
 * valid/zero/special from the register contents (ST(i) is physical register (TOP+i) mod 8);
 * going back keeps only empty versus not empty, as the CPU recomputes the rest. */
uint16_t gdb_ftag_from_abridged(const struct kvm_fpu *fpu);
uint8_t gdb_ftag_to_abridged(uint16_t tag);

#endif
