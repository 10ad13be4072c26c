/* The configuration variable store behind the command line, -o and -k, with the value
 * parsers every option shares. */
#include "cli/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define CONFIG_LINE_MAX 4096

void config_init(struct config *c)
{
	memset(c, 0, sizeof(*c));
}

void config_free(struct config *c)
{
	for (unsigned i = 0; i < c->n; i++) {
		free(c->vars[i].name);
		free(c->vars[i].value);
	}
	free(c->vars);
	memset(c, 0, sizeof(*c));
}

static struct config_var *find(const struct config *c, const char *name)
{
	for (unsigned i = 0; i < c->n; i++)
		if (strcmp(c->vars[i].name, name) == 0)
			return &c->vars[i];
	return NULL;
}

int config_set(struct config *c, const char *name, const char *value)
{
	char *v = strdup(value);
	if (!v)
		return -ENOMEM;
	struct config_var *var = find(c, name);
	if (var) {
		free(var->value);
		var->value = v;
		return 0;
	}
	if (c->n == c->cap) {
		unsigned cap = c->cap ? 2 * c->cap : 16;
		struct config_var *vars = realloc(c->vars, cap * sizeof(*vars));
		if (!vars) {
			free(v);
			return -ENOMEM;
		}
		c->vars = vars;
		c->cap = cap;
	}
	char *n = strdup(name);
	if (!n) {
		free(v);
		return -ENOMEM;
	}
	c->vars[c->n++] = (struct config_var){ n, v };
	return 0;
}

int config_set_assignment(struct config *c, const char *assignment, struct errmsg *e)
{
	const char *eq = strchr(assignment, '=');
	if (!eq || eq == assignment)
		return errmsg_set(e, EINVAL, "'%s': expected name=value", assignment);
	char name[256];
	size_t len = (size_t)(eq - assignment);
	if (len >= sizeof(name))
		return errmsg_set(e, EINVAL, "'%.40s...': variable name too long", assignment);
	memcpy(name, assignment, len);
	name[len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (!isalnum((unsigned char)name[i]) && !strchr("._-", name[i]))
			return errmsg_set(e, EINVAL, "'%s': bad character in variable name", name);
	return config_set(c, name, eq + 1) < 0 ? errmsg_set(e, ENOMEM, "out of memory") : 0;
}

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	char *end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

int config_load_file(struct config *c, const char *path, struct errmsg *e)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return errmsg_set(e, errno, "%s: %s", path, strerror(errno));
	char line[CONFIG_LINE_MAX];
	unsigned lineno = 0;
	int rc = 0;
	while (rc == 0 && fgets(line, sizeof(line), f)) {
		lineno++;
		if (!strchr(line, '\n') && !feof(f)) {
			rc = errmsg_set(e, EINVAL, "%s:%u: line longer than %d bytes", path, lineno, CONFIG_LINE_MAX - 1);
			break;
		}
		char *s = trim(line);
		if (*s == '\0' || *s == '#')
			continue;
		struct errmsg inner;
		if (config_set_assignment(c, s, &inner) < 0)
			rc = errmsg_set(e, EINVAL, "%s:%u: %s", path, lineno, inner.text);
	}
	if (rc == 0 && ferror(f))
		rc = errmsg_set(e, EIO, "%s: read error", path);
	fclose(f);
	return rc;
}

const char *config_get(const struct config *c, const char *name)
{
	const struct config_var *v = find(c, name);
	return v ? v->value : NULL;
}

const char *config_get_default(const struct config *c, const char *name, const char *dflt)
{
	const char *v = config_get(c, name);
	return v ? v : dflt;
}

int config_get_bool(const struct config *c, const char *name, bool dflt, bool *out, struct errmsg *e)
{
	const char *v = config_get(c, name);
	if (!v) {
		*out = dflt;
		return 0;
	}
	static const char *const yes[] = { "true", "yes", "on", "1" }, *const no[] = { "false", "no", "off", "0" };
	for (unsigned i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcasecmp(v, no[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return errmsg_set(e, EINVAL, "%s: '%s' is not a boolean (true/false)", name, v);
}

int config_get_uint(const struct config *c, const char *name, uint64_t dflt, uint64_t max, uint64_t *out,
		    struct errmsg *e)
{
	const char *v = config_get(c, name);
	if (!v) {
		*out = dflt;
		return 0;
	}
	if (parse_uint(v, max, out) < 0)
		return errmsg_set(e, EINVAL, "%s: '%s' is not a number between 0 and %llu", name, v,
				  (unsigned long long)max);
	return 0;
}

int parse_uint(const char *s, uint64_t max, uint64_t *out)
{
	if (!s || !*s || *s == '-' || *s == '+' || isspace((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_size(const char *s, uint64_t dflt_unit, uint64_t *out)
{
	if (!s || !isdigit((unsigned char)*s))
		return -EINVAL;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	uint64_t unit = dflt_unit;
	if (*end) {
		switch (tolower((unsigned char)*end)) {
		case 'k': unit = 1ull << 10; break;
		case 'm': unit = 1ull << 20; break;
		case 'g': unit = 1ull << 30; break;
		case 't': unit = 1ull << 40; break;
		default: return -EINVAL;
		}
		end++;
		if (strcasecmp(end, "b") != 0 && strcasecmp(end, "ib") != 0 && *end)
			return -EINVAL;
	}
	if (v > UINT64_MAX / unit)
		return -EINVAL;
	*out = v * unit;
	return 0;
}
