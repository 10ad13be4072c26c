/* bench_build_machine: see bench_machine.h. */
#include "bench/bench_machine.h"

int bench_build_machine(struct machine *m, struct config *cfg, struct dhyve_options *o, const char *name,
			const char *kernel, const char *mem, const char *disk, struct errmsg *e)
{
	config_init(cfg);
	config_set(cfg, "name", name);
	config_set(cfg, "kernel", kernel);
	config_set(cfg, "memory.size", mem);
	config_set(cfg, "lpc.com1.path", "null");
	config_set(cfg, "watchdog", "0");
	config_set(cfg, "pci.0.0.0.device", "hostbridge");
	config_set(cfg, "pci.0.31.0.device", "lpc");
	config_set(cfg, "pci.0.3.0.device", "virtio-blk");
	config_set(cfg, "pci.0.3.0.config", disk);
	if (options_from_config(cfg, o, e) < 0)
		return -1;
	return machine_create(m, o, e);
}
