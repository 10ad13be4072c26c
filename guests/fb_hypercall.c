/* fb_hypercall.elf: KVM hypercalls at CPL0, on which this KVM live-locks (RIP stays on the
 * vmcall, no exit): dhyve's watchdog finds the vCPU there and answers per the KVM ABI: RAX =
 * -KVM_ENOSYS (-1000) for calls dhyve does not implement, 0 for KVM_HC_VAPIC_POLL_IRQ. */
#include "fb_idt64.h"

#define KVM_HC_VAPIC_POLL_IRQ 1
#define KVM_HC_KICK_CPU 5
#define KVM_HC_SEND_IPI 10
#define KVM_ENOSYS 1000

void kmain(void)
{
	fb_test_name = "fb_hypercall";
	uint64_t rax = KVM_HC_KICK_CPU, rbx = 0x1111, rcx = 0x2222, rdx = 0x3333, rsi = 0x4444;
	__asm__ volatile("vmcall" : "+a"(rax), "+b"(rbx), "+c"(rcx), "+d"(rdx), "+S"(rsi) : : "memory");
	fb_check("vmcall KVM_HC_KICK_CPU returns -KVM_ENOSYS", rax == (uint64_t)-KVM_ENOSYS);
	fb_check("vmcall leaves RBX, RCX, RDX, RSI alone", rbx == 0x1111 && rcx == 0x2222 && rdx == 0x3333 && rsi == 0x4444);
	rax = KVM_HC_SEND_IPI;
	__asm__ volatile("vmmcall" : "+a"(rax) : : "rbx", "rcx", "rdx", "rsi", "memory");
	fb_check("vmmcall KVM_HC_SEND_IPI returns -KVM_ENOSYS", rax == (uint64_t)-KVM_ENOSYS);
	rax = KVM_HC_VAPIC_POLL_IRQ;
	__asm__ volatile("vmcall" : "+a"(rax) : : "rbx", "rcx", "rdx", "rsi", "memory");
	fb_check("vmcall KVM_HC_VAPIC_POLL_IRQ returns 0", rax == 0);
	fb_finish();
}
