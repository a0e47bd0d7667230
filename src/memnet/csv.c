/* csv.c - parse `vspace memnet replay` input: a header naming the six columns, then one row per interval and VM. */
#include <stdio.h>
#include <string.h>

#include "lib/strutil.h"
#include "memnet/csv.h"

static const char *const memnet_csv_names[MEMNET_COL_N] = {
	"interval", "vm", "arrivals", "service_ms", "object_bytes", "response_ms",
};

int memnet_csv_header(struct memnet_csv *c, char *line, char *err, size_t errlen)
{
	char *field[MEMNET_COL_N + 1];
	int seen[MEMNET_COL_N] = { 0 };
	int n = str_split(line, ',', field, MEMNET_COL_N);

	if (n < 0) {
		snprintf(err, errlen, "header has more than %d columns", MEMNET_COL_N);
		return -1;
	}
	for (int i = 0; i < n; i++) {
		const char *f = str_trim(field[i]);
		int k;
		for (k = 0; k < MEMNET_COL_N; k++)
			if (strcmp(f, memnet_csv_names[k]) == 0)
				break;
		if (k == MEMNET_COL_N) {
			snprintf(err, errlen,
				 "unknown column \"%.40s\" in the header (expected "
				 "interval,vm,arrivals,service_ms,object_bytes,response_ms)",
				 f);
			return -1;
		}
		if (seen[k]++) {
			snprintf(err, errlen, "column \"%s\" appears twice", f);
			return -1;
		}
		c->col_of[i] = k;
	}
	for (int k = 0; k < MEMNET_COL_N; k++)
		if (!seen[k]) {
			snprintf(err, errlen, "the header lacks column \"%s\"",
				 memnet_csv_names[k]);
			return -1;
		}
	c->n_fields = n;
	return 0;
}

int memnet_csv_row(const struct memnet_csv *c, char *line, struct memnet_csv_row *row, char *err,
		   size_t errlen)
{
	char *field[MEMNET_COL_N + 1];
	int n = str_split(line, ',', field, MEMNET_COL_N);

	if (n != c->n_fields) {
		snprintf(err, errlen, "%d fields, the header has %d", n < 0 ? MEMNET_COL_N + 1 : n,
			 c->n_fields);
		return -1;
	}
	memset(row, 0, sizeof(*row));
	for (int i = 0; i < n; i++) {
		const char *f = str_trim(field[i]);
		int k = c->col_of[i];
		double v;
		long l;

		switch (k) {
		case MEMNET_COL_INTERVAL:
			if (str_to_long(f, 0, MEMNET_CSV_INTERVAL_MAX, &l) < 0) {
				snprintf(err, errlen,
					 "interval: \"%.40s\" is not a whole number in [0, %ld]", f,
					 MEMNET_CSV_INTERVAL_MAX);
				return -1;
			}
			row->interval = l;
			break;
		case MEMNET_COL_VM: {
			char why[160];
			if (memnet_region_name_check(f, why, sizeof(why)) < 0) {
				snprintf(err, errlen, "vm: %s", why);
				return -1;
			}
			str_copy(row->vm, f, sizeof(row->vm));
			break;
		}
		case MEMNET_COL_RESPONSE_MS:
			if (*f == '\0')
				break; /* no job finished: unknown */
				       /* fall through */
		default:
			if (str_to_double(f, 0, MEMNET_CSV_VALUE_MAX, &v) < 0) {
				snprintf(err, errlen, "%s: \"%.40s\" is not a number in [0, %g]%s",
					 memnet_csv_names[k], f, MEMNET_CSV_VALUE_MAX,
					 k == MEMNET_COL_RESPONSE_MS
						 ? " (leave it empty when unknown)"
						 : "");
				return -1;
			}
			if (k == MEMNET_COL_ARRIVALS)
				row->arrivals = v;
			else if (k == MEMNET_COL_SERVICE_MS)
				row->service_ms = v;
			else if (k == MEMNET_COL_OBJECT_BYTES)
				row->object_bytes = v;
			else {
				row->response_ms = v;
				row->has_response = true;
			}
		}
	}
	if (row->arrivals > 0 && row->service_ms <= 0) {
		snprintf(err, errlen, "service_ms must be > 0 when jobs arrived (arrivals %g)",
			 row->arrivals);
		return -1;
	}
	return 0;
}
