/* qmp.h - vCPU thread ids from QEMU's QMP socket (query-cpus-fast), for VMs started without thread names. */
#ifndef VS_PLATFORM_LINUX_QMP_H
#define VS_PLATFORM_LINUX_QMP_H

#include <jansson.h>
#include <stddef.h>

/* Largest QMP reply line accepted (a 1024-vCPU query-cpus-fast is ~200 KiB). */
#define VS_QMP_LINE_MAX (1 << 20)

/*
 * Connect to the QMP Unix socket at path, negotiate capabilities, run
 * query-cpus-fast and store the thread id of vCPU i (cpu-index) in tids[i]
 * (entries not reported stay 0). Waits at most timeout_ms in total.
 * Returns the number of vCPUs reported, or -1 with err set.
 */
int qmp_vcpu_threads(const char *path, int timeout_ms, int *tids, int max, char *err,
		     size_t errlen);

/* Parse one query-cpus-fast reply line (exposed for tests). Returns the
 * count, 0 when the line is not the reply (greeting, event), or -1 with err
 * when it is an error reply or malformed. */
int qmp_parse_cpus(const char *line, int *tids, int max, char *err, size_t errlen);

/* The same for a reply already parsed (a whole QMP message). */
int qmp_parse_cpus_json(const json_t *root, int *tids, int max, char *err, size_t errlen);

#endif
