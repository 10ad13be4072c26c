/* virtio-net (virtio device id 1) on the modern PCI transport: a receive and a transmit queue, the
 * MAC and link status in config space, mergeable receive buffers; frames to and from a
 * net_backend. The PCI emulation "virtio-net" with conf "BACKEND[,mac=xx:xx:xx:xx:xx:xx]". */
#ifndef DHYVE_DEVMODEL_VIRTIO_NET_H
#define DHYVE_DEVMODEL_VIRTIO_NET_H

#include "base/errmsg.h"
#include "devmodel/net_backend.h"
#include "devmodel/pci.h"
#include "devmodel/virtio_pci.h"

#define VIRTIO_NET_F_MAC       (1ull << 5)
#define VIRTIO_NET_F_MRG_RXBUF (1ull << 15)
#define VIRTIO_NET_F_STATUS    (1ull << 16)

#define VIRTIO_NET_S_LINK_UP 1

#define VIRTIO_NET_RXQ 0
#define VIRTIO_NET_TXQ 1
#define VIRTIO_NET_QUEUE_SIZE 256
#define VIRTIO_NET_HDR_LEN 12 /* struct virtio_net_hdr with num_buffers: always, with VERSION_1 */
#define VIRTIO_NET_CFG_LEN 8  /* mac[6], status */

/* The device on a back-end it takes over (closed with the device, or on failure). mac NULL: one
 * derived from the VM name and slot. */
int virtio_net_add(struct pci_bus *bus, unsigned slot, unsigned fn, struct net_backend *be, const uint8_t mac[6],
		   struct virtio_pci **out, struct errmsg *e);

/* The MAC a device at slot:fn of VM name gets without mac=: locally administered, unicast, stable. */
void virtio_net_default_mac(const char *vm_name, unsigned slot, unsigned fn, uint8_t mac[6]);
/* "xx:xx:xx:xx:xx:xx" (or '-' separated): 0, or -EINVAL for anything else or a multicast address. */
int virtio_net_parse_mac(const char *s, uint8_t mac[6]);

/* pci_devices.c's constructor: parses conf, opens the back-end. */
int pci_virtio_net_create(struct pci_bus *bus, unsigned slot, unsigned fn, const char *conf, struct errmsg *e);

#endif
