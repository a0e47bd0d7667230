/* strutil.c - strict number parsing and small string helpers. */
#include "lib/strutil.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static bool str_is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static const char *str_skip_blank(const char *p)
{
	while (*p && str_is_blank(*p))
		p++;
	return p;
}

int str_to_long(const char *text, long min, long max, long *out)
{
	char *end;
	long v;

	if (!text)
		return -1;
	text = str_skip_blank(text);
	if (*text == '\0')
		return -1;
	errno = 0;
	v = strtol(text, &end, 10);
	if (errno != 0 || end == text)
		return -1;
	if (*str_skip_blank(end) != '\0')
		return -1;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

int str_to_double(const char *text, double min, double max, double *out)
{
	char *end;
	double v;

	if (!text)
		return -1;
	text = str_skip_blank(text);
	if (*text == '\0')
		return -1;
	errno = 0;
	v = strtod(text, &end);
	if (errno != 0 || end == text || !isfinite(v))
		return -1;
	if (*str_skip_blank(end) != '\0')
		return -1;
	if (v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

size_t str_copy(char *dst, const char *src, size_t len)
{
	size_t n = strlen(src);

	if (len > 0) {
		size_t k = n < len - 1 ? n : len - 1;
		memcpy(dst, src, k);
		dst[k] = '\0';
	}
	return n;
}

char *str_trim(char *s)
{
	char *end;

	while (*s && str_is_blank(*s))
		s++;
	end = s + strlen(s);
	while (end > s && str_is_blank(end[-1]))
		*--end = '\0';
	return s;
}

bool str_starts_with(const char *text, const char *prefix)
{
	return strncmp(text, prefix, strlen(prefix)) == 0;
}

void str_appendf(char *buf, size_t len, size_t *n, const char *fmt, ...)
{
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(buf + (*n < len ? *n : len), *n < len ? len - *n : 0, fmt, ap);
	va_end(ap);
	if (k > 0)
		*n += (size_t)k;
}

int str_split(char *line, char sep, char **fields, int max)
{
	int n = 0;
	char *p = line;

	for (;;) {
		char *q = strchr(p, sep);
		if (n == max)
			return -1;
		fields[n++] = p;
		if (!q)
			break;
		*q = '\0';
		p = q + 1;
	}
	return n;
}

int str_csv_header(char *line, const char *const *names, int n_names, const char *expected,
		   int *col_of, int *seen, char *err, size_t err_len)
{
	char *field[STR_CSV_COLS_MAX + 1];
	int n;

	if (n_names < 1 || n_names > STR_CSV_COLS_MAX) {
		snprintf(err, err_len, "%d column names (1 to %d)", n_names, STR_CSV_COLS_MAX);
		return -1;
	}
	n = str_split(line, ',', field, n_names);
	if (n < 0) {
		snprintf(err, err_len, "header has more than %d columns", n_names);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		char *f = str_trim(field[i]);
		int k;
		for (k = 0; k < n_names; k++)
			if (strcmp(f, names[k]) == 0)
				break;
		if (k == n_names) {
			snprintf(err, err_len,
				 "unknown column \"%.40s\" in the header (expected %s)", f,
				 expected);
			return -1;
		}
		if (seen[k]++) {
			snprintf(err, err_len, "column \"%s\" appears twice", names[k]);
			return -1;
		}
		col_of[i] = k;
	}
	return n;
}
