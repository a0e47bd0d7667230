/* report.h - pushes each window's p95 to vspaced's control socket (JSON lines: vspaced's "report" request). */
#ifndef VS_LOADGEN_REPORT_H
#define VS_LOADGEN_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REPORT_PATH_MAX	    108 /* sizeof(sun_path) */
#define REPORT_WORKLOAD_MAX 64
/* How long a report waits for vspaced's reply before going on (the load must
 * keep its schedule; a late reply is read with the next report). */
#define REPORT_REPLY_WAIT_MS 20
/* Longest reply line accepted. */
#define REPORT_REPLY_MAX 4096

struct report_client {
	char path[REPORT_PATH_MAX];
	char workload[REPORT_WORKLOAD_MAX];
	int fd;		      /* -1 while not connected */
	uint64_t sent;	      /* reports written */
	uint64_t acked;	      /* {"ok":true} replies */
	uint64_t rejected;    /* {"ok":false} replies */
	uint64_t lost;	      /* reports that could not be written (no connection) */
	int pending;	      /* reports whose reply has not arrived yet */
	bool warned_down;     /* "lost the connection" logged once */
	char last_error[256]; /* the last error reply or connection problem */
	char rbuf[REPORT_REPLY_MAX];
	size_t rlen;
};

/* Parse "unix:PATH:WORKLOAD" (PATH may itself contain ':'; WORKLOAD is the text
 * after the last one: 1-63 of [A-Za-z0-9_.-]). On error writes why to err. */
int report_parse_spec(const char *spec, char *path, size_t path_len, char *workload,
		      size_t workload_len, char *err, size_t err_len);
/* Parse spec and connect. Returns 0, or -1 with the reason in err. */
int report_open(struct report_client *rc, const char *spec, char *err, size_t err_len);
/* Send one report {"cmd":"report","workload":W,"p95_us":P,"count":N} and read
 * whatever replies have arrived (waiting up to REPORT_REPLY_WAIT_MS for this
 * one). Reconnects if the connection was lost. Never blocks longer. Returns 0
 * when written, -1 when not (counted in lost). */
int report_send(struct report_client *rc, double p95_us, uint64_t count);
/* Wait up to wait_ms for outstanding replies, then close. */
void report_close(struct report_client *rc, int wait_ms);

/* The request line for one report, without the newline; NULL when memory is short.
 * The caller frees it. */
char *report_format(const char *workload, double p95_us, uint64_t count);

#endif
