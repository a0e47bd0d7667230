/* qmp.c - vCPU thread ids from QEMU's QMP socket (query-cpus-fast), for VMs started without thread names. */
#include "platform/linux/qmp.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "platform/linux/qmpconn.h"

int qmp_parse_cpus_json(const json_t *root, int *tids, int max, char *err, size_t errlen)
{
	json_t *ret, *e;
	size_t i;
	int n = 0;

	if (!json_is_object(root)) {
		snprintf(err, errlen, "QMP sent malformed JSON: not an object");
		return -1;
	}
	if ((e = json_object_get(root, "error"))) {
		const char *desc = json_string_value(json_object_get(e, "desc"));
		snprintf(err, errlen, "QMP error: %s", desc ? desc : "(no description)");
		return -1;
	}
	ret = json_object_get(root, "return");
	if (!ret || !json_is_array(ret))
		return 0; /* greeting, event or the qmp_capabilities reply */
	json_array_foreach(ret, i, e)
	{
		json_t *idx = json_object_get(e, "cpu-index"),
		       *tid = json_object_get(e, "thread-id");
		json_int_t ci, ti;
		if (!json_is_integer(idx) || !json_is_integer(tid)) {
			snprintf(err, errlen,
				 "QMP query-cpus-fast entry %zu lacks cpu-index/thread-id", i);
			return -1;
		}
		ci = json_integer_value(idx);
		ti = json_integer_value(tid);
		if (ci < 0 || ci >= max || ti <= 0 || ti > INT32_MAX) {
			snprintf(err, errlen,
				 "QMP query-cpus-fast entry %zu: cpu-index %lld thread-id %lld out "
				 "of range",
				 i, (long long)ci, (long long)ti);
			return -1;
		}
		tids[ci] = (int)ti;
		if (ci + 1 > n)
			n = (int)ci + 1;
	}
	return n;
}

int qmp_parse_cpus(const char *line, int *tids, int max, char *err, size_t errlen)
{
	json_error_t je;
	json_t *root = json_loads(line, 0, &je);
	int n;

	if (!root) {
		snprintf(err, errlen, "QMP sent malformed JSON: %s", je.text);
		return -1;
	}
	n = qmp_parse_cpus_json(root, tids, max, err, errlen);
	json_decref(root);
	return n;
}

int qmp_vcpu_threads(const char *path, int timeout_ms, int *tids, int max, char *err, size_t errlen)
{
	struct qmpconn c;
	json_t *reply = NULL;
	int n = -1;

	qmpconn_init(&c, path);
	if (qmpconn_call(&c, "query-cpus-fast", NULL, timeout_ms, &reply, err, errlen) == 0) {
		memset(tids, 0, sizeof(int) * (size_t)max);
		n = qmp_parse_cpus_json(reply, tids, max, err, errlen);
		if (n == 0) {
			snprintf(err, errlen, "QMP query-cpus-fast returned no vCPUs");
			n = -1;
		}
	}
	json_decref(reply);
	qmpconn_free(&c);
	return n;
}
