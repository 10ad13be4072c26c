/* Repro bundles on disk: the directory -o record=DIR fills (configuration, kernel copy, log,
 * last trace records, README.txt) and how -o replay=DIR turns it back into a configuration. */
#include "cli/bundle.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/crc32.h"

/* The images a run boots from, copied into a bundle under these names. */
static const char *const images[2] = { BUNDLE_KERNEL, BUNDLE_INITRD };

/* Keys that describe the recording itself, not the machine: never saved in a bundle. */
static bool bundle_private(const char *name)
{
	return strcmp(name, "record") == 0 || strncmp(name, "record.", 7) == 0 || strcmp(name, "replay") == 0 ||
	       strncmp(name, "kernel.", 7) == 0 || strncmp(name, "initrd.", 7) == 0;
}

void bundle_path(char *out, size_t size, const char *dir, const char *file)
{
	snprintf(out, size, "%s/%s", dir, file);
}

/* CRC-32 and size of a file: what identifies an image the bundle did not copy. */
static int file_identity(const char *path, uint32_t *crc, uint64_t *size, struct errmsg *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	uint8_t buf[65536];
	ssize_t n;
	*crc = 0;
	*size = 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		*crc = crc32_update(*crc, buf, (size_t)n);
		*size += (uint64_t)n;
	}
	int err = n < 0 ? errno : 0;
	close(fd);
	return err ? errmsg_set(e, err, "%s: %s", path, strerror(err)) : 0;
}

static int copy_file(const char *from, const char *to, struct errmsg *e)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return errmsg_set(e, errno, "%s: %s", from, strerror(errno));
	int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (out < 0) {
		int err = errno;
		close(in);
		return errmsg_set(e, err, "%s: %s", to, strerror(err));
	}
	uint8_t buf[65536];
	ssize_t n;
	int err = 0;
	while ((n = read(in, buf, sizeof(buf))) > 0)
		if (write(out, buf, (size_t)n) != n) {
			err = errno ? errno : EIO;
			break;
		}
	if (n < 0)
		err = errno;
	close(in);
	if (close(out) < 0 && !err)
		err = errno;
	return err ? errmsg_set(e, err, "copying %s to %s: %s", from, to, strerror(err)) : 0;
}

int bundle_prepare(const struct config *cfg, const char *dir, bool copy_images, struct errmsg *e)
{
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return errmsg_set(e, errno, "record=%s: %s", dir, strerror(errno));
	struct stat st;
	if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return errmsg_set(e, ENOTDIR, "record=%s: not a directory", dir);
	char path[4096];
	uint32_t crc[2] = { 0 };
	uint64_t size[2] = { 0 };
	for (unsigned i = 0; i < 2; i++) {
		const char *image = config_get(cfg, images[i]);
		int rc = image ? file_identity(image, &crc[i], &size[i], e) : 0;
		if (rc == 0 && image && copy_images) {
			bundle_path(path, sizeof(path), dir, images[i]);
			rc = copy_file(image, path, e);
		}
		if (rc < 0)
			return rc;
	}
	bundle_path(path, sizeof(path), dir, BUNDLE_CONFIG);
	FILE *f = fopen(path, "w");
	if (!f)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	fprintf(f, "# dhyve configuration of a recorded run; replay with: dhyve -o replay=%s NAME\n", dir);
	for (unsigned i = 0; i < cfg->n; i++)
		if (!bundle_private(cfg->vars[i].name))
			fprintf(f, "%s=%s\n", cfg->vars[i].name, cfg->vars[i].value);
	for (unsigned i = 0; i < 2; i++)
		if (config_get(cfg, images[i]))
			fprintf(f, "%s.crc32=%08" PRIx32 "\n%s.size=%" PRIu64 "\n", images[i], crc[i], images[i], size[i]);
	if (fclose(f) != 0)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	return 0;
}

char *bundle_read_text(const char *dir, const char *file, struct errmsg *e)
{
	char path[4096];
	bundle_path(path, sizeof(path), dir, file);
	FILE *f = fopen(path, "r");
	if (!f) {
		errmsg_set(e, errno, "%s: %s", path, strerror(errno));
		return NULL;
	}
	char *text = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&text, &len);
	int c;
	while (mem && (c = fgetc(f)) != EOF)
		fputc(c, mem);
	fclose(f);
	if (!mem || fclose(mem) != 0) {
		free(text);
		errmsg_set(e, ENOMEM, "%s: out of memory", path);
		return NULL;
	}
	return text;
}

/* The image to load for key (kernel, initrd): the bundle's copy, or the original file if it
 * still is what was recorded (its CRC-32 and size). */
static int use_image(struct config *cfg, const struct config *saved, const char *dir, const char *key,
		     struct errmsg *e)
{
	char name[32], copy[4096];
	snprintf(name, sizeof(name), "%s.crc32", key);
	const char *want_crc = config_get(saved, name);
	snprintf(name, sizeof(name), "%s.size", key);
	const char *want_size = config_get(saved, name);
	bundle_path(copy, sizeof(copy), dir, key);
	const char *image = access(copy, R_OK) == 0 ? copy : config_get(cfg, key);
	uint32_t crc;
	uint64_t size;
	int rc = 0;
	if (image && want_crc && want_size && (rc = file_identity(image, &crc, &size, e)) == 0) {
		char got_crc[16], got_size[32];
		snprintf(got_crc, sizeof(got_crc), "%08" PRIx32, crc);
		snprintf(got_size, sizeof(got_size), "%" PRIu64, size);
		if (strcmp(got_crc, want_crc) || strcmp(got_size, want_size))
			rc = errmsg_set(e, EINVAL, "replay=%s: %s %s is not the image that was recorded (crc32 %s, %s bytes; recorded %s, %s bytes)",
					dir, key, image, got_crc, got_size, want_crc, want_size);
	}
	if (rc == 0 && image && config_set(cfg, key, image) < 0)
		rc = errmsg_set(e, ENOMEM, "out of memory");
	return rc;
}

/* The bundle's configuration fills in what the command line did not say; the kernel and initrd
 * are the bundle's copies, or the original files if they still are what was recorded. */
int bundle_load_for_replay(struct config *cfg, struct errmsg *e)
{
	const char *dir = config_get(cfg, "replay");
	char path[4096];
	bundle_path(path, sizeof(path), dir, BUNDLE_CONFIG);
	struct config saved;
	config_init(&saved);
	int rc = config_load_file(&saved, path, e);
	for (unsigned i = 0; rc == 0 && i < saved.n; i++)
		if (!config_get(cfg, saved.vars[i].name) && config_set(cfg, saved.vars[i].name, saved.vars[i].value) < 0)
			rc = errmsg_set(e, ENOMEM, "out of memory");
	for (unsigned i = 0; rc == 0 && i < 2; i++)
		rc = use_image(cfg, &saved, dir, images[i], e);
	config_free(&saved);
	return rc;
}

int bundle_write_readme(const char *dir, const char *name, const char *ended, const char *why,
			const char *what_is_there, struct errmsg *e)
{
	char path[4096];
	bundle_path(path, sizeof(path), dir, BUNDLE_README);
	FILE *f = fopen(path, "w");
	if (!f)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	fprintf(f,
		"dhyve repro bundle of VM %s\n\n"
		"The run ended: %s (%s).\n\n"
		"Replay it (the same exits, the same end; no disk, network or clock is touched):\n\n"
		"    dhyve -o replay=%s %s\n\n"
		"Add -G w1234 to hold the guest until gdb attaches (target remote :1234).\n\n"
		"Files:\n%s",
		name, ended, why, dir, name, what_is_there);
	return fclose(f) == 0 ? 0 : errmsg_set(e, errno, "%s: %s", path, strerror(errno));
}
