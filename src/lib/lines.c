/* lines.c - read text input line by line within a length limit: a NUL byte or an over-long line is an error naming the line. */
#include "lib/lines.h"

#include <errno.h>
#include <string.h>

#include "lib/strutil.h"

void lines_init(struct vs_lines *l, FILE *in, const char *name, char *buf, size_t len)
{
	l->in = in;
	l->name = name;
	l->buf = buf;
	l->len = len;
	l->lineno = 0;
}

/* One raw line into l->buf, its newline dropped. Returns 1, 0 at the end of
 * the input (nothing read), or -1 with err. */
static int lines_read(struct vs_lines *l, char *err, size_t err_len)
{
	size_t n = 0;
	int c;

	errno = 0;
	while ((c = getc(l->in)) != EOF && c != '\n') {
		if (c == '\0') {
			snprintf(err, err_len, "%s:%ld: a NUL byte in the line", l->name,
				 l->lineno + 1);
			return -1;
		}
		if (n + 1 >= l->len) {
			snprintf(err, err_len, "%s:%ld: line longer than %zu bytes", l->name,
				 l->lineno + 1, l->len - 1);
			return -1;
		}
		l->buf[n++] = (char)c;
	}
	if (c == EOF && ferror(l->in)) {
		snprintf(err, err_len, "%s: read error: %s", l->name,
			 strerror(errno ? errno : EIO));
		return -1;
	}
	if (c == EOF && n == 0)
		return 0;
	l->buf[n] = '\0';
	l->lineno++;
	return 1;
}

int lines_next(struct vs_lines *l, char **text, char *err, size_t err_len)
{
	int rc;

	while ((rc = lines_read(l, err, err_len)) == 1) {
		char *t = str_trim(l->buf);

		if (*t != '\0' && *t != '#') {
			*text = t;
			return 1;
		}
	}
	return rc;
}
