/* The runtime directory shared by dhyve (which creates its socket there) and dhyvectl (which
 * looks for it there): both compute it the same way. */
#include "cli/rundir.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int choose(char *buf, size_t len)
{
	const char *env = getenv("DHYVE_RUNDIR");
	const char *xdg = getenv("XDG_RUNTIME_DIR");
	int n;
	if (env && env[0])
		n = snprintf(buf, len, "%s", env);
	else if (geteuid() == 0)
		n = snprintf(buf, len, "/run/dhyve");
	else if (xdg && xdg[0])
		n = snprintf(buf, len, "%s/dhyve", xdg);
	else
		n = snprintf(buf, len, "/tmp/dhyve-%u", (unsigned)geteuid());
	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int rundir_path(char *buf, size_t len, int create, struct errmsg *e)
{
	if (choose(buf, len) < 0)
		return errmsg_set(e, ENAMETOOLONG, "runtime directory path too long");
	if (!create)
		return 0;
	if (mkdir(buf, 0700) < 0 && errno != EEXIST)
		return errmsg_set(e, errno, "%s: %s", buf, strerror(errno));
	struct stat st;
	if (lstat(buf, &st) < 0)
		return errmsg_set(e, errno, "%s: %s", buf, strerror(errno));
	if (!S_ISDIR(st.st_mode))
		return errmsg_set(e, ENOTDIR, "%s: not a directory", buf);
	if (st.st_uid != geteuid() || (st.st_mode & 077))
		return errmsg_set(e, EPERM, "%s: must be owned by uid %u and not accessible to others (mode 0700)",
				  buf, (unsigned)geteuid());
	return 0;
}

int rundir_file(char *buf, size_t len, const char *name, const char *suffix, int create, struct errmsg *e)
{
	char dir[256];
	int rc = rundir_path(dir, sizeof(dir), create, e);
	if (rc < 0)
		return rc;
	int n = snprintf(buf, len, "%s/%s%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= len)
		return errmsg_set(e, ENAMETOOLONG, "%s/%s%s: path too long for a unix socket", dir, name, suffix);
	return 0;
}
