/* cpuset.c - fixed-size CPU sets: cpulist and hex-mask parsing and formatting. */
#include "lib/cpuset.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void cpuset_zero(struct vs_cpuset *s)
{
	memset(s, 0, sizeof(*s));
}

void cpuset_set(struct vs_cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < VS_MAX_CPUS)
		s->bits[cpu / 64] |= UINT64_C(1) << (cpu % 64);
}

void cpuset_clear(struct vs_cpuset *s, int cpu)
{
	if (cpu >= 0 && cpu < VS_MAX_CPUS)
		s->bits[cpu / 64] &= ~(UINT64_C(1) << (cpu % 64));
}

bool cpuset_test(const struct vs_cpuset *s, int cpu)
{
	if (cpu < 0 || cpu >= VS_MAX_CPUS)
		return false;
	return (s->bits[cpu / 64] >> (cpu % 64)) & 1;
}

int cpuset_count(const struct vs_cpuset *s)
{
	int n = 0;
	for (int i = 0; i < VS_CPUSET_WORDS; i++)
		n += __builtin_popcountll(s->bits[i]);
	return n;
}

bool cpuset_equal(const struct vs_cpuset *a, const struct vs_cpuset *b)
{
	return memcmp(a->bits, b->bits, sizeof(a->bits)) == 0;
}

bool cpuset_empty(const struct vs_cpuset *s)
{
	for (int i = 0; i < VS_CPUSET_WORDS; i++)
		if (s->bits[i])
			return false;
	return true;
}

void cpuset_or(struct vs_cpuset *dst, const struct vs_cpuset *a, const struct vs_cpuset *b)
{
	for (int i = 0; i < VS_CPUSET_WORDS; i++)
		dst->bits[i] = a->bits[i] | b->bits[i];
}

void cpuset_and(struct vs_cpuset *dst, const struct vs_cpuset *a, const struct vs_cpuset *b)
{
	for (int i = 0; i < VS_CPUSET_WORDS; i++)
		dst->bits[i] = a->bits[i] & b->bits[i];
}

void cpuset_andnot(struct vs_cpuset *dst, const struct vs_cpuset *a, const struct vs_cpuset *b)
{
	for (int i = 0; i < VS_CPUSET_WORDS; i++)
		dst->bits[i] = a->bits[i] & ~b->bits[i];
}

bool cpuset_intersects(const struct vs_cpuset *a, const struct vs_cpuset *b)
{
	for (int i = 0; i < VS_CPUSET_WORDS; i++)
		if (a->bits[i] & b->bits[i])
			return true;
	return false;
}

int cpuset_next(const struct vs_cpuset *s, int from)
{
	if (from < 0)
		from = 0;
	for (int w = from / 64; w < VS_CPUSET_WORDS; w++) {
		uint64_t word = s->bits[w];
		if (w == from / 64)
			word &= ~UINT64_C(0) << (from % 64);
		if (word)
			return w * 64 + __builtin_ctzll(word);
	}
	return -1;
}

int cpuset_last(const struct vs_cpuset *s)
{
	for (int w = VS_CPUSET_WORDS - 1; w >= 0; w--)
		if (s->bits[w])
			return w * 64 + 63 - __builtin_clzll(s->bits[w]);
	return -1;
}

/* Parse a decimal CPU id at *p; advance *p. Returns the id or -1. */
static long cpuset_parse_id(const char **p)
{
	char *end;
	long v;

	if (!isdigit((unsigned char)**p))
		return -1;
	errno = 0;
	v = strtol(*p, &end, 10);
	if (errno != 0 || v < 0 || v >= VS_MAX_CPUS)
		return -2;
	*p = end;
	return v;
}

int cpuset_parse_list(struct vs_cpuset *s, const char *text, char *err, size_t errlen)
{
	const char *p = text;

	cpuset_zero(s);
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '\0' || *p == '\n')
		return 0;
	for (;;) {
		long lo, hi;

		lo = cpuset_parse_id(&p);
		if (lo < 0)
			goto bad;
		hi = lo;
		if (*p == '-') {
			p++;
			hi = cpuset_parse_id(&p);
			if (hi < 0)
				goto bad;
			if (hi < lo) {
				snprintf(err, errlen, "cpu range %ld-%ld in \"%s\" is reversed", lo,
					 hi, text);
				return -1;
			}
		}
		for (long c = lo; c <= hi; c++)
			cpuset_set(s, (int)c);
		if (*p == ',') {
			p++;
			continue;
		}
		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (*p == '\0')
			return 0;
		goto bad;
	}
bad:
	snprintf(err, errlen,
		 "\"%s\" is not a cpu list (expected e.g. \"0-3,8\", cpu ids below %d)", text,
		 VS_MAX_CPUS);
	cpuset_zero(s);
	return -1;
}

size_t cpuset_format_list(const struct vs_cpuset *s, char *buf, size_t len)
{
	size_t n = 0;
	bool first = true;

	if (len > 0)
		buf[0] = '\0';
	for (int c = cpuset_next(s, 0); c >= 0;) {
		int end = c;
		while (cpuset_test(s, end + 1))
			end++;
		char piece[32];
		int k = end == c ? snprintf(piece, sizeof(piece), "%s%d", first ? "" : ",", c)
				 : snprintf(piece, sizeof(piece), "%s%d-%d", first ? "" : ",", c,
					    end);
		if (n + (size_t)k < len)
			memcpy(buf + n, piece, (size_t)k + 1);
		else if (len > 0)
			buf[len - 1] = '\0';
		n += (size_t)k;
		first = false;
		c = cpuset_next(s, end + 1);
	}
	return n;
}

static int cpuset_hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

int cpuset_parse_mask(struct vs_cpuset *s, const char *text, char *err, size_t errlen)
{
	const char *p = text, *end;
	int bit = 0, digits = 0;

	cpuset_zero(s);
	while (*p == ' ' || *p == '\t')
		p++;
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		p += 2;
	end = p + strlen(p);
	while (end > p && (end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	/* walk from the least significant digit */
	for (const char *q = end; q > p; q--) {
		char ch = q[-1];
		int v;

		if (ch == ',')
			continue;
		v = cpuset_hexval(ch);
		if (v < 0)
			goto bad;
		digits++;
		for (int i = 0; i < 4; i++, bit++) {
			if (!(v & (1 << i)))
				continue;
			if (bit >= VS_MAX_CPUS) {
				snprintf(err, errlen, "cpu mask \"%s\" names cpus beyond %d", text,
					 VS_MAX_CPUS - 1);
				cpuset_zero(s);
				return -1;
			}
			cpuset_set(s, bit);
		}
	}
	if (digits == 0)
		goto bad;
	return 0;
bad:
	snprintf(err, errlen,
		 "\"%s\" is not a hex cpu mask (expected e.g. \"ff\" or \"0,0000000f\")", text);
	cpuset_zero(s);
	return -1;
}

size_t cpuset_format_mask(const struct vs_cpuset *s, int ncpus, char *buf, size_t len)
{
	int words = (ncpus + 31) / 32;
	size_t n = 0;

	if (words < 1)
		words = 1;
	if (len > 0)
		buf[0] = '\0';
	for (int w = words - 1; w >= 0; w--) {
		uint32_t v = 0;
		char piece[16];
		int k;

		for (int i = 0; i < 32; i++)
			if (cpuset_test(s, w * 32 + i))
				v |= UINT32_C(1) << i;
		k = snprintf(piece, sizeof(piece), "%08x%s", v, w > 0 ? "," : "");
		if (n + (size_t)k < len)
			memcpy(buf + n, piece, (size_t)k + 1);
		n += (size_t)k;
	}
	return n;
}
