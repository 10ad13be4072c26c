/* QEMU's firmware configuration interface (fw_cfg) over I/O ports: numbered items and named
 * files the machine publishes (RAM size, CPU count, "etc/..." blobs) for firmware and guests. */
#ifndef DHYVE_DEVMODEL_FW_CFG_H
#define DHYVE_DEVMODEL_FW_CFG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/gmem.h"

#define FW_CFG_PORT_SEL   0x510 /* 16-bit selector write; region [0x510, 0x512) */
#define FW_CFG_PORT_DATA  0x511 /* 8-bit data */
#define FW_CFG_PORT_COUNT 2
#define FW_CFG_PORT_DMA   0x514 /* 64-bit big-endian address: high half at +0, low half (go) at +4 */
#define FW_CFG_DMA_COUNT  8

/* Keys (QEMU's docs/specs/fw_cfg.rst). */
#define FW_CFG_SIGNATURE      0x0000 /* "QEMU" */
#define FW_CFG_ID             0x0001 /* u32 LE feature bits */
#define FW_CFG_UUID           0x0002
#define FW_CFG_RAM_SIZE       0x0003 /* u64 LE */
#define FW_CFG_NOGRAPHIC      0x0004
#define FW_CFG_NB_CPUS        0x0005 /* u16 LE */
#define FW_CFG_MACHINE_ID     0x0006
#define FW_CFG_KERNEL_ADDR    0x0007
#define FW_CFG_KERNEL_SIZE    0x0008
#define FW_CFG_KERNEL_CMDLINE 0x0009
#define FW_CFG_INITRD_ADDR    0x000a
#define FW_CFG_INITRD_SIZE    0x000b
#define FW_CFG_BOOT_DEVICE    0x000c
#define FW_CFG_NUMA           0x000d
#define FW_CFG_BOOT_MENU      0x000e
#define FW_CFG_MAX_CPUS       0x000f /* u16 LE */
#define FW_CFG_KERNEL_ENTRY   0x0010
#define FW_CFG_KERNEL_DATA    0x0011
#define FW_CFG_INITRD_DATA    0x0012
#define FW_CFG_CMDLINE_ADDR   0x0013
#define FW_CFG_CMDLINE_SIZE   0x0014
#define FW_CFG_CMDLINE_DATA   0x0015
#define FW_CFG_SETUP_ADDR     0x0016
#define FW_CFG_SETUP_SIZE     0x0017
#define FW_CFG_SETUP_DATA     0x0018
#define FW_CFG_FILE_DIR       0x0019 /* u32 BE count, then struct fw_cfg_file entries */
#define FW_CFG_FILE_FIRST     0x0020 /* files get keys from here, in the order they are added */
#define FW_CFG_WRITE_CHANNEL  0x4000 /* selector bit: ignored (no item is writable) */
#define FW_CFG_ARCH_LOCAL     0x8000 /* selector bit: none defined here, so such keys read 0 */

#define FW_CFG_ID_TRADITIONAL 0x01
#define FW_CFG_ID_DMA         0x02

/* The DMA access structure's control word (big-endian in guest memory). */
#define FW_CFG_DMA_CTL_ERROR  0x01
#define FW_CFG_DMA_CTL_READ   0x02
#define FW_CFG_DMA_CTL_SKIP   0x04
#define FW_CFG_DMA_CTL_SELECT 0x08 /* key in bits 31:16 */
#define FW_CFG_DMA_CTL_WRITE  0x10

#define FW_CFG_MAX_FILES     256
#define FW_CFG_FILE_NAME_MAX 55  /* characters; 56 with the NUL in a directory entry */
#define FW_CFG_FILE_ENTRY_SIZE 64 /* u32 size, u16 select, u16 reserved, char name[56], big-endian */

struct fw_cfg;

/* Signature and ID are set; the other numbered items are empty until set. mem is the view DMA
 * reaches guest memory through (not copied: it must outlive the device); NULL turns DMA off
 * (ID bit 1 clear, the DMA ports then read all-ones). */
struct fw_cfg *fw_cfg_create(const struct gmem *mem);
void fw_cfg_destroy(struct fw_cfg *fw);
/* Selects key 0 and forgets a half-written DMA address; the items stay. */
void fw_cfg_reset(struct fw_cfg *fw);

/* Numbered items below FW_CFG_FILE_FIRST, little-endian as QEMU stores them. The data is
 * copied. -EINVAL for the signature, ID and file directory keys (the device owns those) and
 * for keys that are not numbered items; -ENOMEM. */
int fw_cfg_set_bytes(struct fw_cfg *fw, uint16_t key, const void *data, size_t len);
int fw_cfg_set_u16(struct fw_cfg *fw, uint16_t key, uint16_t v);
int fw_cfg_set_u32(struct fw_cfg *fw, uint16_t key, uint32_t v);
int fw_cfg_set_u64(struct fw_cfg *fw, uint16_t key, uint64_t v);
/* A named file (data copied) under the next key from FW_CFG_FILE_FIRST, listed in the
 * directory. Returns the key, or -EINVAL (empty name, or longer than 55 characters, or data
 * longer than 4 GiB - 1), -EEXIST (the name is taken), -ENOSPC (FW_CFG_MAX_FILES), -ENOMEM. */
int fw_cfg_add_file(struct fw_cfg *fw, const char *name, const void *data, size_t len);

/* iobus_access_fn for [0x510, 0x512): a 16-bit write at offset 0 selects an item, byte reads
 * at either offset return the next data byte (0 past the end or for an unknown key), byte
 * writes are ignored; other accesses are refused (-EINVAL). */
int fw_cfg_access(void *fw, uint64_t offset, unsigned size, bool is_write, uint64_t *value);
/* iobus_access_fn for [0x514, 0x51c): a 32-bit write at +0 latches the address's high half, a
 * 32-bit write at +4 its low half and runs the transfer (both big-endian as the guest wrote
 * them); a 64-bit write runs it at once. Reads return "QEMU CFG", as QEMU does. A transfer
 * only touches guest memory through the gmem view: a wild address or length sets the error
 * bit in the access structure when that can be written, and is otherwise dropped. */
int fw_cfg_dma_access(void *fw, uint64_t offset, unsigned size, bool is_write, uint64_t *value);

/* Device state for snapshots (the selected key, the offset in it, a latched DMA address
 * half): a fixed, versioned layout; the items are configuration, rebuilt by the machine.
 * Same conventions as uart16550_save/load. */
#define FW_CFG_STATE_SIZE 16
size_t fw_cfg_save(const struct fw_cfg *fw, void *buf, size_t len);
int fw_cfg_load(struct fw_cfg *fw, const void *buf, size_t len);

#endif
