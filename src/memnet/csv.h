/* csv.h - the input of `vspace memnet replay`: per interval and VM, jobs, service time, result size, response time (untrusted text; fuzzed). */
#ifndef VS_MEMNET_CSV_H
#define VS_MEMNET_CSV_H

#include <stdbool.h>
#include <stddef.h>

#include "memnet/reader.h"

enum memnet_csv_col {
	MEMNET_COL_INTERVAL,
	MEMNET_COL_VM,
	MEMNET_COL_ARRIVALS,
	MEMNET_COL_SERVICE_MS,
	MEMNET_COL_OBJECT_BYTES,
	MEMNET_COL_RESPONSE_MS,
	MEMNET_COL_N,
};

/* Largest numbers accepted: a count, milliseconds, bytes. */
#define MEMNET_CSV_INTERVAL_MAX 1000000000L
#define MEMNET_CSV_VALUE_MAX	1e15

struct memnet_csv {
	int col_of[MEMNET_COL_N]; /* field index -> column */
	int n_fields;
};

struct memnet_csv_row {
	long interval;
	char vm[MEMNET_REGION_NAME_MAX + 1];
	double arrivals, service_ms, object_bytes;
	bool has_response; /* response_ms was not empty */
	double response_ms;
};

/* The header line (modified in place): every column named once, any order.
 * Returns 0 or -1 with err naming the problem. */
int memnet_csv_header(struct memnet_csv *c, char *line, char *err, size_t errlen);
/* One data line (modified in place). Returns 0 or -1 with err naming the
 * field and value. */
int memnet_csv_row(const struct memnet_csv *c, char *line, struct memnet_csv_row *row, char *err,
		   size_t errlen);

#endif
