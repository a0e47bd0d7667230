/* ctlpath.c - where vspaced's control socket is: the default and [host] control_socket, readable alone (vspacectl -c). */
#include "daemon/ctlpath.h"

#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"

int ctlpath_parse(const char *value, char *out, size_t len, char *err, size_t errlen)
{
	if (strcmp(value, "off") == 0) {
		str_copy(out, "", len);
		return 0;
	}
	if (value[0] != '/') {
		snprintf(err, errlen, "\"%s\" is not an absolute path", value);
		return -1;
	}
	if (strlen(value) >= len || strlen(value) >= CTLPATH_MAX) {
		snprintf(err, errlen, "longer than %zu characters",
			 (len < CTLPATH_MAX ? len : CTLPATH_MAX) - 1);
		return -1;
	}
	str_copy(out, value, len);
	return 0;
}

/* What the reader keeps while inih walks the file. */
struct ctlpath_read {
	FILE *f;
	char *out;
	size_t len;
	int lineno;   /* the line inih is looking at */
	int err_line; /* the line of a bad control_socket=, 0 none */
	char err[256];
};

/* inih's reader: one line at a time, counting them. */
static char *ctlpath_reader(char *str, int num, void *stream)
{
	struct ctlpath_read *r = stream;

	if (!fgets(str, num, r->f))
		return NULL;
	r->lineno++;
	return str;
}

static int ctlpath_handler(void *arg, const char *section, const char *name, const char *value)
{
	struct ctlpath_read *r = arg;

	if (strcmp(section, "host") != 0 || strcmp(name, "control_socket") != 0 || r->err_line)
		return 1;
	if (ctlpath_parse(value, r->out, r->len, r->err, sizeof(r->err)) < 0)
		r->err_line = r->lineno;
	return 1;
}

int ctlpath_from_config(const char *path, char *out, size_t len, char *err, size_t errlen)
{
	struct ctlpath_read r = { .out = out, .len = len };
	int rc;

	r.f = fopen(path, "r");
	if (!r.f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	str_copy(out, CTLPATH_DEFAULT, len);
	rc = ini_parse_stream(ctlpath_reader, &r, ctlpath_handler, &r);
	fclose(r.f);
	if (r.err_line) {
		snprintf(err, errlen, "%s:%d: [host] control_socket: %s", path, r.err_line, r.err);
		return -1;
	}
	if (rc != 0) {
		snprintf(err, errlen, "%s:%d: not an INI line (vspaced -n -c %s says more)", path,
			 rc, path);
		return -1;
	}
	return 0;
}
