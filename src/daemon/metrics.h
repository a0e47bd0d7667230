/* metrics.h - Prometheus text metrics: a tiny HTTP endpoint on a loopback port and a node_exporter textfile. */
#ifndef VS_DAEMON_METRICS_H
#define VS_DAEMON_METRICS_H

#include <stdbool.h>
#include <stddef.h>

/* Growing text buffer the metrics are rendered into. */
struct metrics_buf {
	char *p;
	size_t len, cap;
	bool oom;
};
void metrics_printf(struct metrics_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void metrics_buf_free(struct metrics_buf *b);

/* Render every metric (Prometheus text format 0.0.4) into b. */
typedef void (*metrics_render_fn)(void *arg, struct metrics_buf *b);

#define VSD_MET_CLIENTS 8
#define VSD_MET_REQ_MAX 4096

struct met_client {
	int fd;
	char in[VSD_MET_REQ_MAX + 1];
	size_t in_len;
	struct metrics_buf out;
	size_t out_off;
};

struct metrics_srv {
	int lfd;
	int epfd;
	unsigned tag;
	metrics_render_fn render;
	void *arg;
	struct met_client cl[VSD_MET_CLIENTS];
	unsigned long scrapes;
};

/* Listen on HOST:PORT (numeric IPv4 or IPv6 address). Returns 0, or -1 with err. */
int metrics_open(struct metrics_srv *m, const char *listen_addr, int epfd, unsigned tag,
		 metrics_render_fn render, void *arg, char *err, size_t errlen);
void metrics_event(struct metrics_srv *m, unsigned slot, unsigned events);
void metrics_close(struct metrics_srv *m);
/* Write the metrics to path atomically (node_exporter textfile collector).
 * Returns 0 or -1 (logged). */
int metrics_write_textfile(const char *path, metrics_render_fn render, void *arg);
/* Build the HTTP response for a request (exposed for tests). */
void metrics_http_response(const char *req, size_t len, metrics_render_fn render, void *arg,
			   struct metrics_buf *out);

#endif
