/* lines.h - read text input line by line within a length limit: a NUL byte or an over-long line is an error naming the line. */
#ifndef VS_LIB_LINES_H
#define VS_LIB_LINES_H

#include <stddef.h>
#include <stdio.h>

struct vs_lines {
	FILE *in;
	const char *name; /* the input's name in messages: a path, or "stdin" */
	char *buf;	  /* the caller's buffer; a line may hold len - 1 bytes */
	size_t len;
	long lineno; /* the line last read, from 1 */
};

/* Read from in into buf (len >= 2 bytes; the longest line is len - 1
 * bytes, its newline not counted). */
void lines_init(struct vs_lines *l, FILE *in, const char *name, char *buf, size_t len);
/* The next line that is neither blank nor a '#' comment, its surrounding
 * blanks (CR too) trimmed, in *text (valid until the next call). Returns 1,
 * 0 at the end of the input, or -1 with err: "NAME:LINE: line longer than N
 * bytes", "NAME:LINE: a NUL byte in the line" or "NAME: read error: ...".
 * Nothing of the input is read past a bad line. */
int lines_next(struct vs_lines *l, char **text, char *err, size_t err_len);

#endif
