/* strutil.h - strict number parsing and small string helpers. */
#ifndef VS_LIB_STRUTIL_H
#define VS_LIB_STRUTIL_H

#include <stdbool.h>
#include <stddef.h>

/* Parse all of text (surrounding blanks allowed) as a base-10 integer in
 * [min, max]. Returns 0 or -1 (text empty, trailing junk, out of range). */
int str_to_long(const char *text, long min, long max, long *out);
/* Parse all of text as a finite real number in [min, max]. */
int str_to_double(const char *text, double min, double max, double *out);
/* Copy with truncation; always NUL-terminates when len > 0. Returns strlen(src). */
size_t str_copy(char *dst, const char *src, size_t len);
/* Remove leading and trailing blanks (space, tab, CR, LF) in place. */
char *str_trim(char *s);
/* True when text starts with prefix. */
bool str_starts_with(const char *text, const char *prefix);
/* Append printf-formatted text at buf + *n (buf holds len bytes) and add its
 * full length to *n, as snprintf would: once *n reaches len the text is cut,
 * *n keeps counting, so the caller can tell the size it needed. */
void str_appendf(char *buf, size_t len, size_t *n, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Split line into at most max fields at sep, in place (no quoting).
 * Returns the number of fields, or -1 when there are more than max. */
int str_split(char *line, char sep, char **fields, int max);
/* Map a CSV header line (split in place) to known column names: col_of[i] is
 * the index in names[] of the header's column i, seen[k] (zeroed by the
 * caller) counts name k. Returns the number of columns, or -1 with err set
 * when there are more than n_names columns, one is unknown (expected, e.g.
 * "a,b,c", is named in the message) or one is named twice. Whether a column
 * may be missing is the caller's to say. */
#define STR_CSV_COLS_MAX 16
int str_csv_header(char *line, const char *const *names, int n_names, const char *expected,
		   int *col_of, int *seen, char *err, size_t err_len);

#endif
