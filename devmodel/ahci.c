/* The AHCI HBA: generic host control and port registers in BAR 5, command lists and FIS receive
 * areas in guest memory, PRDT walking, interrupts (INTx and MSI), reset and snapshots. Commands
 * run synchronously inside the guest's PxCI write; ahci_ata.c and ahci_atapi.c execute them. */
#include "devmodel/ahci_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Generic host control (AHCI 1.3 section 3.1). */
enum { HBA_CAP = 0x00, HBA_GHC = 0x04, HBA_IS = 0x08, HBA_PI = 0x0c, HBA_VS = 0x10, HBA_CAP2 = 0x24 };
#define CAP_S64A (1u << 31)
#define CAP_SNCQ (1u << 30)
#define CAP_SCLO (1u << 24)
#define CAP_ISS_GEN3 (3u << 20)
#define CAP_SAM  (1u << 18)
#define CAP_NCS_32 (31u << 8)
#define GHC_HR   (1u << 0)
#define GHC_IE   (1u << 1)
#define GHC_AE   (1u << 31)
#define AHCI_VERSION 0x00010300u

/* Port registers (section 3.3), at 0x100 + port * 0x80. */
#define PORT_BASE 0x100
#define PORT_SIZE 0x80
enum {
	PX_CLB = 0x00, PX_CLBU = 0x04, PX_FB = 0x08, PX_FBU = 0x0c, PX_IS = 0x10, PX_IE = 0x14, PX_CMD = 0x18,
	PX_TFD = 0x20, PX_SIG = 0x24, PX_SSTS = 0x28, PX_SCTL = 0x2c, PX_SERR = 0x30, PX_SACT = 0x34,
	PX_CI = 0x38, PX_SNTF = 0x3c, PX_FBS = 0x40,
};
#define PXCMD_ST  (1u << 0)
#define PXCMD_SUD (1u << 1)
#define PXCMD_POD (1u << 2)
#define PXCMD_CLO (1u << 3)
#define PXCMD_FRE (1u << 4)
#define PXCMD_CCS_SHIFT 8
#define PXCMD_FR  (1u << 14)
#define PXCMD_CR  (1u << 15)
#define PXCMD_ATAPI (1u << 24)
#define PXCMD_DLAE  (1u << 25)
#define PXCMD_ALPE  (1u << 26)
#define PXCMD_ASP   (1u << 27)
#define PXCMD_SW  (PXCMD_ST | PXCMD_FRE | PXCMD_ATAPI | PXCMD_DLAE | PXCMD_ALPE | PXCMD_ASP)
#define PXIS_RW1C 0xfdc000ffu /* the bits PxIS has; the rest read 0 */
#define PXIE_MASK 0xfdc000ffu
#define SSTS_UP   0x133u /* device present, phy up (DET 3), Gen3 (SPD 3), active (IPM 1) */

/* Receive FIS area offsets (section 4.2.1) and the command header / table layout. */
#define RFIS_PIO 0x20
#define RFIS_D2H 0x40
#define RFIS_SDB 0x58
#define CMDH_SIZE 32
#define CMDH_A (1u << 5)
#define CT_ACMD 0x40
#define CT_PRDT 0x80
#define PRD_SIZE 16
#define PRD_DBC_MASK 0x3fffffu
#define PRD_I (1u << 31)

static uint64_t clb_addr(const struct ahci_port *p)
{
	return ((uint64_t)p->st.clbu << 32 | p->st.clb) & ~(uint64_t)0x3ff;
}

static uint64_t fb_addr(const struct ahci_port *p)
{
	return ((uint64_t)p->st.fbu << 32 | p->st.fb) & ~(uint64_t)0xff;
}

/* ---- interrupts ---- */

/* IS follows the ports level-wise (QEMU and bhyve do the same): a port whose PxIS & PxIE is
 * nonzero keeps its IS bit, so clearing IS before PxIS cannot lose an interrupt. INTx is that
 * level under GHC.IE; MSI is an edge, sent when the level rises and again when the driver writes
 * IS and something is still pending (a completion that came in while its handler ran). */
static void update_irq(struct ahci *a, bool is_write)
{
	for (unsigned i = 0; i < a->nports; i++)
		if (a->port[i].st.is & a->port[i].st.ie)
			a->is |= 1u << i;
	bool level = (a->ghc & GHC_IE) && a->is;
	bool rose = level && (!a->irq_level || is_write);
	if (level != a->irq_level) {
		a->irq_level = level;
		pci_intx_set(a->f, level);
	}
	if (rose && pci_msi_enabled(a->f))
		pci_msi_send(a->f, 0);
}

/* ---- FIS receive ---- */

static bool fis_receive(struct ahci_port *p)
{
	return (p->st.cmd & PXCMD_FRE) != 0;
}

/* A FIS the device sends lands in the receive area only while FRE is set; an area outside guest
 * RAM is the guest's error: a host bus fatal error. */
static void post_fis(struct ahci_port *p, unsigned off, const uint8_t *fis, size_t len)
{
	if (!fis_receive(p))
		return;
	if (gmem_write(p->hba->mem, fb_addr(p) + off, fis, len) < 0)
		p->st.is |= PXIS_HBFS;
}

static void post_d2h(struct ahci_port *p, const uint8_t *h2d, uint8_t status, uint8_t error, uint8_t count,
		     uint32_t sig, bool irq)
{
	uint8_t f[20] = { FIS_TYPE_D2H, irq ? 0x40 : 0, status, error };
	if (h2d) {
		memcpy(f + 4, h2d + 4, 4);  /* LBA 0-2, device */
		memcpy(f + 8, h2d + 8, 3);  /* LBA 3-5 */
		f[13] = h2d[13];
	}
	f[12] = count;
	if (sig) {
		f[12] = (uint8_t)sig;
		f[4] = (uint8_t)(sig >> 8);
		f[5] = (uint8_t)(sig >> 16);
		f[6] = (uint8_t)(sig >> 24);
		f[7] = 0;
	}
	p->st.tfd = (uint32_t)error << 8 | status;
	post_fis(p, RFIS_D2H, f, sizeof(f));
	if (irq)
		p->st.is |= PXIS_DHRS;
}

static void post_reset_fis(struct ahci_port *p)
{
	if (!p->st.reset_fis || !fis_receive(p))
		return;
	p->st.reset_fis = 0;
	post_d2h(p, NULL, (uint8_t)p->st.tfd, (uint8_t)(p->st.tfd >> 8), 1, p->st.sig, false);
}

/* A device reset (COMRESET, HBA reset, SRST, DEVICE RESET): signature, ready status, and the
 * D2H FIS that announces them, now or once FRE is set. */
static void device_reset(struct ahci_port *p)
{
	p->st.sig = p->atapi ? ATA_SIG_ATAPI : ATA_SIG_DISK;
	/* Error register 01h: "no error detected" is what a device reports after a reset. */
	p->st.tfd = 0x100 | (p->atapi ? 0 : ATA_S_DRDY | ATA_S_DSC);
	p->st.ssts = SSTS_UP;
	p->st.xfer_mode = 0;
	p->st.multi = 0;
	p->st.wcache = 1;
	p->st.ncq_err = 0;
	if (p->atapi)
		ahci_atapi_reset(p);
	p->st.reset_fis = 1;
	post_reset_fis(p);
}

static void port_reset(struct ahci_port *p, bool keep_addresses)
{
	struct ahci_port_state keep = p->st;
	memset(&p->st, 0, sizeof(p->st));
	if (keep_addresses) {
		p->st.clb = keep.clb, p->st.clbu = keep.clbu;
		p->st.fb = keep.fb, p->st.fbu = keep.fbu;
	}
	p->st.cmd = PXCMD_SUD | PXCMD_POD | (p->atapi ? PXCMD_ATAPI : 0);
	device_reset(p);
}

static void hba_reset(struct ahci *a, bool keep_addresses)
{
	a->ghc = GHC_AE;
	a->is = 0;
	for (unsigned i = 0; i < a->nports; i++)
		port_reset(&a->port[i], keep_addresses);
	update_irq(a, false);
}

/* ---- PRDT ---- */

int ahci_prdt_walk(struct ahci_cmd *c, uint64_t len, bool strict, bool to_guest, ahci_piece_fn fn, void *ctx)
{
	const struct gmem *m = c->p->hba->mem;
	uint64_t pos = 0;
	for (unsigned i = 0; i < c->prdtl && pos < len; i++) {
		uint32_t prd[4];
		if (gmem_read(m, c->ctba + CT_PRDT + (uint64_t)i * PRD_SIZE, prd, sizeof(prd)) < 0) {
			c->fault = true;
			return -EFAULT;
		}
		/* Bit 0 of the address is reserved (word alignment): ignored, as hardware does. */
		uint64_t dba = ((uint64_t)prd[1] << 32 | prd[0]) & ~(uint64_t)1;
		uint64_t n = (uint64_t)(prd[3] & PRD_DBC_MASK) + 1;
		if (n > len - pos)
			n = len - pos;
		uint8_t *host = gmem_map(m, dba, n);
		if (!host) {
			c->fault = true;
			return -EFAULT;
		}
		int rc = fn(ctx, host, (size_t)n, pos);
		if (rc < 0)
			return rc;
		if (to_guest) /* door 2 for a recorder: the bytes went through a mapped pointer */
			gmem_note_write(m, dba, n);
		else
			gmem_note_read(m, dba, n);
		pos += n;
		c->xfer += (uint32_t)n;
		if (prd[3] & PRD_I)
			c->p->st.is |= PXIS_DPS;
	}
	if (strict && pos < len) {
		c->fault = true;
		return -EFAULT;
	}
	return 0;
}

static int piece_to_guest(void *ctx, uint8_t *host, size_t n, uint64_t pos)
{
	memcpy(host, (const uint8_t *)ctx + pos, n);
	return 0;
}

static int piece_from_guest(void *ctx, uint8_t *host, size_t n, uint64_t pos)
{
	memcpy((uint8_t *)ctx + pos, host, n);
	return 0;
}

int ahci_data_in(struct ahci_cmd *c, const void *buf, size_t len)
{
	return ahci_prdt_walk(c, len, false, true, piece_to_guest, (void *)buf);
}

int ahci_data_out(struct ahci_cmd *c, void *buf, size_t len)
{
	return ahci_prdt_walk(c, len, true, false, piece_from_guest, buf);
}

struct disk_io {
	struct blk_backend *be;
	uint64_t off;
};

static int piece_disk_read(void *ctx, uint8_t *host, size_t n, uint64_t pos)
{
	struct disk_io *d = ctx;
	return d->be->ops->read(d->be->ctx, host, n, d->off + pos) < 0 ? -EIO : 0;
}

static int piece_disk_write(void *ctx, uint8_t *host, size_t n, uint64_t pos)
{
	struct disk_io *d = ctx;
	return d->be->ops->write(d->be->ctx, host, n, d->off + pos) < 0 ? -EIO : 0;
}

int ahci_disk_io(struct ahci_cmd *c, bool write, uint64_t off, uint64_t len)
{
	struct disk_io d = { c->p->be, off };
	return ahci_prdt_walk(c, len, true, !write, write ? piece_disk_write : piece_disk_read, &d);
}

/* ---- command execution ---- */

/* The slot's error stops the port (AHCI 6.2.2): its PxCI bit stays set and nothing more runs
 * until the driver clears PxCMD.ST, which is how Linux and FreeBSD recover. */
static void port_error(struct ahci_port *p, uint32_t why)
{
	p->st.stopped = 1;
	p->st.is |= why;
}

static void finish(struct ahci_cmd *c)
{
	struct ahci_port *p = c->p;
	uint32_t bit = 1u << c->slot;
	if (c->fault) {
		post_d2h(p, c->fis, ATA_S_DRDY | ATA_S_DSC | ATA_S_ERR, ATA_E_ABRT, 0, 0, false);
		port_error(p, PXIS_HBFS);
		return;
	}
	/* PRDBC: what was moved (written back for every command; a driver may read it). */
	gmem_write(p->hba->mem, clb_addr(p) + (uint64_t)c->slot * CMDH_SIZE + 4, &c->xfer, 4);
	bool err = c->status & ATA_S_ERR;
	if (c->done == AHCI_DONE_NCQ) {
		p->st.ci &= ~bit;
		uint8_t sdb[8] = { FIS_TYPE_SDB, 0x40, (uint8_t)(c->status & 0x77), c->error };
		uint32_t done = err ? 0 : bit;
		memcpy(sdb + 4, &done, 4);
		p->st.tfd = (uint32_t)c->error << 8 | c->status;
		p->st.sact &= ~done;
		post_fis(p, RFIS_SDB, sdb, sizeof(sdb));
		p->st.is |= PXIS_SDBS;
		if (err)
			port_error(p, PXIS_TFES);
		return;
	}
	if (c->done == AHCI_DONE_PIO_IN && !err) {
		uint8_t pio[20] = { FIS_TYPE_PIO, 0x60 /* I, data to host */, ATA_S_DRDY | ATA_S_DSC | ATA_S_DRQ, 0 };
		memcpy(pio + 4, c->fis + 4, 7);
		pio[12] = c->fis[FIS_COUNT];
		pio[13] = c->fis[FIS_COUNT_EXP];
		pio[15] = c->status; /* E_Status: the status after the transfer (Linux reads it) */
		memcpy(pio + 16, &c->xfer, 2);
		post_fis(p, RFIS_PIO, pio, sizeof(pio));
		p->st.is |= PXIS_PSS;
	}
	post_d2h(p, c->fis, c->status, c->error, c->count, c->sig, true);
	if (err) {
		port_error(p, PXIS_TFES);
		return;
	}
	p->st.ci &= ~bit;
}

/* A device-control FIS (C = 0): SRST set holds the device in reset; clearing it completes the
 * software reset (the device sends its signature). The HBA clears the slot at once either way. */
static void control_fis(struct ahci_port *p, unsigned slot, const uint8_t *fis)
{
	p->st.ci &= ~(1u << slot);
	if (fis[FIS_CTL] & FIS_CTL_SRST) {
		p->st.tfd = ATA_S_BSY;
		return;
	}
	device_reset(p);
}

static void run_slot(struct ahci_port *p, unsigned slot)
{
	struct ahci_cmd c = { .p = p, .slot = slot };
	uint32_t hdr[4];
	p->st.cmd = (p->st.cmd & ~(0x1fu << PXCMD_CCS_SHIFT)) | slot << PXCMD_CCS_SHIFT;
	if (gmem_read(p->hba->mem, clb_addr(p) + (uint64_t)slot * CMDH_SIZE, hdr, sizeof(hdr)) < 0) {
		c.fault = true;
		finish(&c);
		return;
	}
	unsigned cfl = hdr[0] & 0x1f;
	c.prdtl = hdr[0] >> 16;
	c.ctba = ((uint64_t)hdr[3] << 32 | hdr[2]) & ~(uint64_t)0x7f;
	if (gmem_read(p->hba->mem, c.ctba, c.fis, sizeof(c.fis)) < 0 ||
	    gmem_read(p->hba->mem, c.ctba + CT_ACMD, c.acmd, sizeof(c.acmd)) < 0) {
		c.fault = true;
		finish(&c);
		return;
	}
	/* A FIS shorter than a register FIS, or not one, is nothing a device takes: it aborts. */
	if (cfl < 5 || c.fis[FIS_TYPE] != FIS_TYPE_H2D) {
		ahci_abort(&c, ATA_E_ABRT);
		finish(&c);
		return;
	}
	if (!(c.fis[FIS_FLAGS] & FIS_H2D_C)) {
		control_fis(p, slot, c.fis);
		return;
	}
	/* PACKET needs the header's ATAPI bit: without it no command packet is sent. */
	if (c.fis[FIS_CMD] == 0xa0 && !(hdr[0] & CMDH_A)) {
		ahci_abort(&c, ATA_E_ABRT);
		finish(&c);
		return;
	}
	if (p->atapi)
		ahci_atapi_execute(&c);
	else
		ahci_ata_execute(&c);
	finish(&c);
}

/* Runs every issued slot, lowest first; bounded by the 32 slots, whatever the guest wrote. Only
 * called with ST set (PxCI writes are ignored otherwise). */
static void port_run(struct ahci_port *p)
{
	for (unsigned slot = 0; slot < 32 && !p->st.stopped; slot++)
		if (p->st.ci & (1u << slot))
			run_slot(p, slot);
	update_irq(p->hba, false);
}

/* ---- registers ---- */

static void write_cmd(struct ahci_port *p, uint32_t val)
{
	uint32_t old = p->st.cmd;
	uint32_t cmd = (old & ~PXCMD_SW) | (val & PXCMD_SW);
	if (val & PXCMD_CLO) /* command list override: clears BSY and DRQ, then reads 0 */
		p->st.tfd &= ~(uint32_t)(ATA_S_BSY | ATA_S_DRQ);
	/* The engine states follow their enables at once: nothing is ever in flight. */
	cmd = (cmd & ~(PXCMD_CR | PXCMD_FR)) | (cmd & PXCMD_ST ? PXCMD_CR : 0) | (cmd & PXCMD_FRE ? PXCMD_FR : 0);
	if (!(cmd & PXCMD_ST)) {
		p->st.ci = 0;
		p->st.sact = 0;
		p->st.stopped = 0;
		cmd &= ~(0x1fu << PXCMD_CCS_SHIFT);
	}
	p->st.cmd = cmd;
	post_reset_fis(p);
	update_irq(p->hba, false);
}

static void write_sctl(struct ahci_port *p, uint32_t val)
{
	uint32_t old_det = p->st.sctl & 0xf;
	p->st.sctl = val & 0xfff;
	unsigned det = val & 0xf;
	if (det == 1) {
		/* COMRESET held: no phy communication until DET returns to 0. */
		p->st.ssts = 0;
		p->st.tfd = ATA_S_BSY;
	} else if (det == 0 && old_det == 1) {
		device_reset(p);
	}
	update_irq(p->hba, false);
}

static uint32_t port_read(struct ahci_port *p, unsigned reg)
{
	switch (reg) {
	case PX_CLB: return p->st.clb;
	case PX_CLBU: return p->st.clbu;
	case PX_FB: return p->st.fb;
	case PX_FBU: return p->st.fbu;
	case PX_IS: return p->st.is;
	case PX_IE: return p->st.ie;
	case PX_CMD: return p->st.cmd;
	case PX_TFD: return p->st.tfd;
	case PX_SIG: return p->st.sig;
	case PX_SSTS: return p->st.ssts;
	case PX_SCTL: return p->st.sctl;
	case PX_SERR: return p->st.serr;
	case PX_SACT: return p->st.sact;
	case PX_CI: return p->st.ci;
	case PX_SNTF: return p->st.sntf;
	default: return 0; /* FBS, DEVSLP, vendor: not offered */
	}
}

static void port_write(struct ahci_port *p, unsigned reg, uint32_t val)
{
	switch (reg) {
	case PX_CLB: p->st.clb = val & ~0x3ffu; break;
	case PX_CLBU: p->st.clbu = val; break;
	case PX_FB: p->st.fb = val & ~0xffu; break;
	case PX_FBU: p->st.fbu = val; break;
	case PX_IS:
		p->st.is &= ~(val & PXIS_RW1C);
		update_irq(p->hba, false);
		break;
	case PX_IE:
		p->st.ie = val & PXIE_MASK;
		update_irq(p->hba, false);
		break;
	case PX_CMD: write_cmd(p, val); break;
	case PX_SCTL: write_sctl(p, val); break;
	case PX_SERR: p->st.serr &= ~val; break;
	case PX_SNTF: p->st.sntf &= ~val; break;
	case PX_SACT:
		if (p->st.cmd & PXCMD_ST)
			p->st.sact |= val;
		break;
	case PX_CI:
		if (p->st.cmd & PXCMD_ST) {
			p->st.ci |= val;
			port_run(p);
		}
		break;
	default: break;
	}
}

static uint32_t hba_read(struct ahci *a, unsigned reg)
{
	switch (reg) {
	case HBA_CAP:
		return CAP_S64A | CAP_SNCQ | CAP_SCLO | CAP_ISS_GEN3 | CAP_SAM | CAP_NCS_32 | (a->nports - 1);
	case HBA_GHC: return a->ghc;
	case HBA_IS: return a->is;
	case HBA_PI: return a->nports == 32 ? 0xffffffffu : (1u << a->nports) - 1;
	case HBA_VS: return AHCI_VERSION;
	default: return 0; /* CCC, enclosure management, CAP2, BOHC: none */
	}
}

static void hba_write(struct ahci *a, unsigned reg, uint32_t val)
{
	if (reg == HBA_GHC) {
		if (val & GHC_HR) {
			hba_reset(a, true);
			return;
		}
		a->ghc = GHC_AE | (val & GHC_IE);
		update_irq(a, false);
	} else if (reg == HBA_IS) {
		a->is &= ~val;
		update_irq(a, true);
	}
}

static uint32_t reg_read(struct ahci *a, uint64_t off)
{
	if (off < PORT_BASE)
		return hba_read(a, (unsigned)off);
	unsigned i = (unsigned)((off - PORT_BASE) / PORT_SIZE);
	return i < a->nports ? port_read(&a->port[i], (unsigned)((off - PORT_BASE) % PORT_SIZE)) : 0;
}

static void reg_write(struct ahci *a, uint64_t off, uint32_t val)
{
	if (off < PORT_BASE) {
		hba_write(a, (unsigned)off, val);
		return;
	}
	unsigned i = (unsigned)((off - PORT_BASE) / PORT_SIZE);
	if (i < a->nports)
		port_write(&a->port[i], (unsigned)((off - PORT_BASE) % PORT_SIZE), val);
}

/* Dword registers: reads of any size see their bytes; 8-byte accesses are two dwords; narrower
 * writes are ignored (no driver makes them; half a command register has no meaning). */
static int bar_access(struct pci_func *f, unsigned bar, uint64_t off, unsigned size, bool is_write, uint64_t *val)
{
	struct ahci *a = f->priv;
	if (bar != AHCI_BAR)
		return 0;
	pthread_mutex_lock(&a->lock);
	uint64_t base = off & ~(uint64_t)3;
	if (is_write) {
		if (size == 4 && !(off & 3)) {
			reg_write(a, base, (uint32_t)*val);
		} else if (size == 8 && !(off & 7)) {
			reg_write(a, base, (uint32_t)*val);
			reg_write(a, base + 4, (uint32_t)(*val >> 32));
		}
	} else if (size == 8) {
		*val = (off & 7) ? 0 : reg_read(a, base) | (uint64_t)reg_read(a, base + 4) << 32;
	} else {
		uint32_t v = reg_read(a, base);
		unsigned sh = (unsigned)(off & 3) * 8;
		*val = (off & 3) + size > 4 ? 0 : (v >> sh) & (uint32_t)((1ull << (size * 8)) - 1);
	}
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* From pci_bus_reset with the bus lock held; like virtio, it does not take a->lock (bar_access
 * holds a->lock while pci_intx_set takes the bus lock). */
static void func_reset(struct pci_func *f)
{
	struct ahci *a = f->priv;
	a->irq_level = false;
	hba_reset(a, false);
}

static void func_destroy(struct pci_func *f)
{
	struct ahci *a = f->priv;
	for (unsigned i = 0; i < AHCI_MAX_PORTS; i++)
		blk_backend_close(a->port[i].be);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

static const struct pci_func_ops ahci_func_ops = {
	.name = "ahci",
	.bar_access = bar_access,
	.reset = func_reset,
	.destroy = func_destroy,
};

static int setup_port(struct ahci_port *p, const struct ahci_port_conf *pc, struct errmsg *e)
{
	p->atapi = pc->atapi;
	p->be = pc->be;
	if (pc->serial)
		snprintf(p->serial, sizeof(p->serial), "%s", pc->serial);
	else
		snprintf(p->serial, sizeof(p->serial), "DHYVE-%u", p->idx);
	if (p->atapi) {
		p->sector_size = AHCI_CD_SECTOR;
		p->nsect = p->be->size / AHCI_CD_SECTOR;
		return 0;
	}
	unsigned ss = pc->sector_size ? pc->sector_size : 512;
	unsigned ps = pc->physical_size ? pc->physical_size : ss;
	if (ss != 512 && ss != 4096)
		return errmsg_set(e, EINVAL, "port %u: sector size %u: AHCI disks have 512 or 4096", p->idx, ss);
	if (ps < ss || ps > 32768 || (ps & (ps - 1)))
		return errmsg_set(e, EINVAL, "port %u: physical sector size %u is not a power of two from %u to 32768",
				  p->idx, ps, ss);
	p->sector_size = ss;
	while ((ss << p->phys_exp) < ps)
		p->phys_exp++;
	/* Whole sectors only; 48-bit LBA bounds what ATA can address. */
	p->nsect = p->be->size / ss;
	if (p->nsect > (1ull << 48) - 1)
		p->nsect = (1ull << 48) - 1;
	p->trim = !pc->nodelete && !p->be->ro && p->be->ops->discard != NULL;
	return 0;
}

int ahci_add(struct pci_bus *bus, unsigned slot, unsigned fn, const struct ahci_port_conf *ports, unsigned nports,
	     struct ahci **out, struct errmsg *e)
{
	struct ahci *a = nports >= 1 && nports <= AHCI_MAX_PORTS ? calloc(1, sizeof(*a)) : NULL;
	if (!a) {
		for (unsigned i = 0; i < nports && i < AHCI_MAX_PORTS; i++)
			blk_backend_close(ports[i].be);
		return nports < 1 || nports > AHCI_MAX_PORTS
			       ? errmsg_set(e, EINVAL, "an AHCI controller has 1 to %d ports, not %u", AHCI_MAX_PORTS, nports)
			       : errmsg_set(e, ENOMEM, "out of memory");
	}
	pthread_mutex_init(&a->lock, NULL);
	a->nports = nports;
	a->mem = pci_bus_config(bus)->mem;
	int rc = 0;
	for (unsigned i = 0; i < nports; i++) {
		a->port[i].hba = a;
		a->port[i].idx = i;
		a->port[i].be = ports[i].be; /* owned from here on, freed by func_destroy */
	}
	for (unsigned i = 0; i < nports && rc == 0; i++)
		rc = setup_port(&a->port[i], &ports[i], e);
	struct pci_func *f = NULL;
	if (rc == 0 && !a->mem)
		rc = errmsg_set(e, EINVAL, "ahci needs guest memory on the PCI bus");
	if (rc < 0 || (rc = pci_add(bus, slot, fn, &ahci_func_ops, a, &f, e)) < 0) {
		func_destroy(&(struct pci_func){ .priv = a });
		return rc;
	}
	a->f = f;
	pci_set_ids(f, &(struct pci_ids){ .vendor = AHCI_VENDOR, .device = AHCI_DEVICE, .class_code = AHCI_CLASS,
					  .revision = 2, .subvendor = AHCI_VENDOR, .subdevice = AHCI_DEVICE });
	if ((rc = pci_add_bar(f, AHCI_BAR, PCI_BAR_MEM32, AHCI_BAR_SIZE, false, e)) < 0 ||
	    (rc = pci_add_msi(f, 1, true, e)) < 0) {
		pci_remove(f);
		return rc;
	}
	pci_set_intx_pin(f, 1);
	hba_reset(a, false);
	if (out)
		*out = a;
	return 0;
}

/* ---- snapshots ---- */

#define AHCI_STATE_MAGIC   0x49434841u /* "AHCI" */
#define AHCI_STATE_VERSION 1

struct ahci_state_hdr {
	uint32_t magic, version, nports, atapi_ports;
	uint32_t ghc, is;
};

size_t ahci_save(struct ahci *a, void *buf, size_t len)
{
	size_t need = sizeof(struct ahci_state_hdr) + a->nports * sizeof(struct ahci_port_state);
	if (!buf)
		return need;
	if (len < need)
		return 0;
	pthread_mutex_lock(&a->lock);
	struct ahci_state_hdr h = { AHCI_STATE_MAGIC, AHCI_STATE_VERSION, a->nports, 0, a->ghc, a->is };
	for (unsigned i = 0; i < a->nports; i++)
		h.atapi_ports |= (uint32_t)a->port[i].atapi << i;
	memcpy(buf, &h, sizeof(h));
	for (unsigned i = 0; i < a->nports; i++)
		memcpy((uint8_t *)buf + sizeof(h) + i * sizeof(struct ahci_port_state), &a->port[i].st,
		       sizeof(struct ahci_port_state));
	pthread_mutex_unlock(&a->lock);
	return need;
}

/* An image is input like any other: every field must be one the device could have made. */
static bool port_state_valid(const struct ahci_port *p, const struct ahci_port_state *s)
{
	if ((s->clb & 0x3ff) || (s->fb & 0xff) || (s->is & ~PXIS_RW1C) || (s->ie & ~PXIE_MASK) || (s->sctl & ~0xfffu))
		return false;
	/* PxCMD as write_cmd leaves it: CR follows ST, FR follows FRE, SUD and POD read 1. */
	uint32_t cmd_bits = PXCMD_SW | PXCMD_SUD | PXCMD_POD | PXCMD_CR | PXCMD_FR | (0x1fu << PXCMD_CCS_SHIFT);
	bool st = s->cmd & PXCMD_ST, fre = s->cmd & PXCMD_FRE;
	if ((s->cmd & ~cmd_bits) || (s->cmd & (PXCMD_SUD | PXCMD_POD)) != (PXCMD_SUD | PXCMD_POD) ||
	    !!(s->cmd & PXCMD_CR) != st || !!(s->cmd & PXCMD_FR) != fre || (!st && (s->cmd >> PXCMD_CCS_SHIFT & 0x1f)))
		return false;
	if (s->sig != (p->atapi ? ATA_SIG_ATAPI : ATA_SIG_DISK) || s->multi > 16 || (s->multi & (s->multi - 1)))
		return false;
	if (!(s->cmd & PXCMD_ST) && (s->ci || s->sact || s->stopped))
		return false;
	if (s->ci && !s->stopped) /* commands run inside the CI write: only a stopped port keeps one */
		return false;
	if (s->stopped > 1 || s->reset_fis > 1 || s->wcache > 1 || s->ncq_err > 1 || s->ncq_tag > 31)
		return false;
	if (s->tray_open > 1 || s->prevent > 1 || s->sense_key > 0xf || s->media_event > 4 || s->unit_attention > 1)
		return false;
	for (size_t i = 0; i < sizeof(s->pad); i++)
		if (s->pad[i])
			return false;
	return p->atapi || (!s->tray_open && !s->prevent && !s->sense_key && !s->unit_attention);
}

int ahci_load(struct ahci *a, const void *buf, size_t len)
{
	struct ahci_state_hdr h;
	if (len != sizeof(h) + a->nports * sizeof(struct ahci_port_state))
		return -EINVAL;
	memcpy(&h, buf, sizeof(h));
	uint32_t atapi = 0;
	for (unsigned i = 0; i < a->nports; i++)
		atapi |= (uint32_t)a->port[i].atapi << i;
	if (h.magic != AHCI_STATE_MAGIC || h.version != AHCI_STATE_VERSION || h.nports != a->nports ||
	    h.atapi_ports != atapi || (h.ghc & ~(GHC_AE | GHC_IE)) != 0 || !(h.ghc & GHC_AE) ||
	    (a->nports < 32 && (h.is >> a->nports)))
		return -EINVAL;
	struct ahci_port_state s[AHCI_MAX_PORTS];
	memcpy(s, (const uint8_t *)buf + sizeof(h), a->nports * sizeof(s[0]));
	for (unsigned i = 0; i < a->nports; i++)
		if (!port_state_valid(&a->port[i], &s[i]) || ((s[i].is & s[i].ie) && !(h.is & (1u << i))))
			return -EINVAL; /* IS follows the ports: a pending port has its bit (update_irq) */
	pthread_mutex_lock(&a->lock);
	a->ghc = h.ghc;
	a->is = h.is;
	for (unsigned i = 0; i < a->nports; i++)
		a->port[i].st = s[i];
	update_irq(a, false);
	pthread_mutex_unlock(&a->lock);
	return 0;
}

/* ---- construction from -s options ---- */

/* One port's text: "PATH[,opt...]" with the options of a disk (a CD takes ro, nocache and ser=). */
static int parse_port(char *text, bool atapi, struct ahci_port_conf *pc, char **serial, struct errmsg *e)
{
	char *save = NULL, *path = strtok_r(text, ",", &save);
	bool ro = atapi;
	*pc = (struct ahci_port_conf){ .atapi = atapi };
	if (!path || text[0] == ',' || !*path)
		return errmsg_set(e, EINVAL, "needs an image path: %s", atapi ? "cd:PATH" : "hd:PATH[,ro][,sectorsize=N[/P]]");
	for (char *opt; (opt = strtok_r(NULL, ",", &save));) {
		char *end;
		if (strcmp(opt, "ro") == 0) { /* a CD is read-only anyway; bhyve accepts ro there too */
			ro = true;
		} else if (strcmp(opt, "nocache") == 0 || strcmp(opt, "direct") == 0) {
			; /* bhyve's host cache hints: accepted, the raw back-end uses the page cache */
		} else if (strcmp(opt, "nodelete") == 0 && !atapi) {
			pc->nodelete = true;
		} else if (strncmp(opt, "ser=", 4) == 0) {
			*serial = opt + 4;
		} else if (strncmp(opt, "sectorsize=", 11) == 0 && !atapi) {
			unsigned long l = strtoul(opt + 11, &end, 10), ph = l;
			if (*end == '/')
				ph = strtoul(end + 1, &end, 10);
			if (end == opt + 11 || *end || (l != 512 && l != 4096) || ph < l || ph > 32768 || (ph & (ph - 1)))
				return errmsg_set(e, EINVAL, "bad '%s' (sectorsize=512 or 4096, /physical a power of two up to 32768)",
						  opt);
			pc->sector_size = (unsigned)l;
			pc->physical_size = (unsigned)ph;
		} else {
			return errmsg_set(e, EINVAL, "unknown option '%s' (%s)", opt,
					  atapi ? "known: ro, nocache, ser=" : "known: ro, nocache, nodelete, sectorsize=N[/P], ser=");
		}
	}
	if (!*serial) {
		const char *base = strrchr(path, '/');
		*serial = base ? (char *)base + 1 : path;
	}
	pc->serial = *serial;
	return blk_backend_open_raw(path, ro, &pc->be, e);
}

/* ports: "hd:PATH[,opts],cd:PATH,...": a port's options run to the next "hd:" or "cd:". */
static int create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, int only, struct errmsg *e)
{
	char *copy = strdup(conf ? conf : "");
	char *start[AHCI_MAX_PORTS];
	bool atapi[AHCI_MAX_PORTS];
	struct ahci_port_conf pc[AHCI_MAX_PORTS];
	unsigned n = 0;
	int rc = 0;
	if (!copy)
		return errmsg_set(e, ENOMEM, "out of memory");
	if (only >= 0) { /* ahci-hd / ahci-cd: one port, the whole text */
		start[0] = copy;
		atapi[0] = only;
		n = 1;
	} else {
		for (char *s = copy; *s;) {
			if (strncmp(s, "hd:", 3) != 0 && strncmp(s, "cd:", 3) != 0) {
				rc = errmsg_set(e, EINVAL, "expected hd:PATH or cd:PATH at '%s'", s);
				goto out;
			}
			if (n == AHCI_MAX_PORTS) {
				rc = errmsg_set(e, EINVAL, "more than %d ports", AHCI_MAX_PORTS);
				goto out;
			}
			atapi[n] = s[0] == 'c';
			start[n++] = s + 3;
			char *next = s + 3;
			while ((next = strchr(next, ',')) && strncmp(next + 1, "hd:", 3) && strncmp(next + 1, "cd:", 3))
				next++;
			if (!next)
				break;
			*next = '\0';
			s = next + 1;
		}
		if (n == 0) {
			rc = errmsg_set(e, EINVAL, "needs at least one port: -s slot,ahci,hd:PATH[,opts][,cd:PATH]...");
			goto out;
		}
	}
	for (unsigned i = 0; i < n; i++) {
		char *serial = NULL;
		struct errmsg why = { "" };
		if ((rc = parse_port(start[i], atapi[i], &pc[i], &serial, &why)) < 0) {
			for (unsigned j = 0; j < i; j++)
				blk_backend_close(pc[j].be);
			rc = only >= 0 ? errmsg_set(e, -rc, "%s", why.text) : errmsg_set(e, -rc, "port %u: %s", i, why.text);
			goto out;
		}
	}
	rc = ahci_add(bus, slot, fn, pc, n, NULL, e);
out:
	free(copy);
	return rc;
}

int pci_ahci_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	return create(bus, slot, fn, conf, -1, e);
}

int pci_ahci_hd_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	return create(bus, slot, fn, conf, 0, e);
}

int pci_ahci_cd_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e)
{
	return create(bus, slot, fn, conf, 1, e);
}
