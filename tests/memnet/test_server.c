/* test_server.c - memnet serve over real sockets: keep-alive, pipelining, HEAD, ranges, errors, chunked streams of growing objects, a corrupt region refused while another keeps serving. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "memnet/region.h"
#include "memnet/server.h"
#include "memnet/writer.h"
#include "testutil.h"

#define MiB (1u << 20)
#define BIG (3 * MiB + 123)

struct world {
	char path[2][64];
	struct memnet_writer w[2];
	pid_t pid;
	unsigned port;
	char *big;
};

static void make_region(char *path, struct memnet_writer *w)
{
	struct memnet_create_opts o = { .bytes = 8 * MiB, .force = true, .mode = 0600 };
	char err[256];
	bool usage;

	snprintf(path, 64, "/dev/shm/vsmn-srv-XXXXXX");
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(memnet_region_create(path, &o, &usage, err, sizeof(err)), 0);
	assert_int_equal(memnet_writer_open(w, path, err, sizeof(err)), 0);
}

static int world_setup(void **state)
{
	struct world *wd = calloc(1, sizeof(*wd));
	char err[256];
	int pfd[2];

	make_region(wd->path[0], &wd->w[0]);
	make_region(wd->path[1], &wd->w[1]);
	wd->big = malloc(BIG);
	for (size_t i = 0; i < BIG; i++)
		wd->big[i] = (char)(i * 2654435761u >> 24);
	assert_int_equal(memnet_put_buf(&wd->w[0], "big", wd->big, BIG, 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&wd->w[0], "small", "hello\n", 6, 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&wd->w[1], "other", "world\n", 6, 0, err, sizeof(err)), 0);
	assert_int_equal(pipe(pfd), 0);
	wd->pid = fork();
	if (wd->pid == 0) {
		struct memnet_server_opts o;
		bool usage;
		close(pfd[0]);
		signal(SIGPIPE, SIG_DFL); /* as a server starts: the test itself ignores it */
		memnet_server_defaults(&o);
		o.listen = "127.0.0.1:0";
		o.poll_ms = 5;
		struct memnet_server *s = memnet_server_new(&o, &usage, err, sizeof(err));
		if (!s || memnet_server_add(s, "vm1", wd->path[0], err, sizeof(err)) < 0 ||
		    memnet_server_add(s, "vm2", wd->path[1], err, sizeof(err)) < 0)
			_exit(3);
		unsigned port = memnet_server_port(s);
		if (write(pfd[1], &port, sizeof(port)) != sizeof(port))
			_exit(3);
		close(pfd[1]);
		int rc = memnet_server_run(s);
		memnet_server_free(s);
		_exit(rc);
	}
	close(pfd[1]);
	assert_int_equal(read(pfd[0], &wd->port, sizeof(wd->port)), sizeof(wd->port));
	close(pfd[0]);
	*state = wd;
	return 0;
}

static int world_teardown(void **state)
{
	struct world *wd = *state;
	int st = 0;

	kill(wd->pid, SIGTERM);
	waitpid(wd->pid, &st, 0);
	for (int i = 0; i < 2; i++) {
		memnet_writer_close(&wd->w[i]);
		unlink(wd->path[i]);
	}
	free(wd->big);
	free(wd);
	/* the server stopped cleanly on SIGTERM */
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

static int conn(const struct world *wd)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)wd->port) };
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	return fd;
}

static void send_all(int fd, const char *s)
{
	size_t n = strlen(s);
	assert_int_equal(write(fd, s, n), (ssize_t)n);
}

/* A byte buffer read from the socket (what is read beyond a response stays). */
struct rbuf {
	char *p;
	size_t len, cap;
	bool eof;
};

static bool rbuf_fill(struct rbuf *b, int fd, int timeout_ms)
{
	struct pollfd pf = { .fd = fd, .events = POLLIN };
	if (b->eof || poll(&pf, 1, timeout_ms) <= 0)
		return false;
	if (b->len + 65536 > b->cap) {
		b->cap = (b->cap + 65536) * 2;
		b->p = realloc(b->p, b->cap);
	}
	ssize_t n = read(fd, b->p + b->len, 65536);
	if (n <= 0) {
		b->eof = true;
		return false;
	}
	b->len += (size_t)n;
	return true;
}

static void rbuf_drop(struct rbuf *b, size_t n)
{
	memmove(b->p, b->p + n, b->len - n);
	b->len -= n;
}

struct resp {
	int status;
	char head[2048];
	char *body;
	size_t body_len;
	bool complete; /* body framed to its end (not cut) */
};

static const char *hdr(const struct resp *r, const char *name)
{
	static char v[256];
	char key[64];
	snprintf(key, sizeof(key), "\r\n%s: ", name);
	const char *p = strstr(r->head, key);
	if (!p)
		return NULL;
	p += strlen(key);
	size_t n = strcspn(p, "\r");
	snprintf(v, sizeof(v), "%.*s", (int)n, p);
	return v;
}

/* Read one response (head_only: no body whatever the headers say). */
static void read_resp(struct rbuf *b, int fd, bool head_only, struct resp *r)
{
	char *end;

	memset(r, 0, sizeof(*r));
	while (!(b->len && (end = memmem(b->p, b->len, "\r\n\r\n", 4))))
		if (!rbuf_fill(b, fd, 3000))
			fail_msg("no response head");
	size_t hl = (size_t)(end - b->p) + 4;
	assert_true(hl < sizeof(r->head));
	memcpy(r->head, b->p, hl);
	r->head[hl] = '\0';
	rbuf_drop(b, hl);
	assert_int_equal(sscanf(r->head, "HTTP/1.1 %d", &r->status), 1);
	r->body = malloc(1);
	if (head_only) {
		r->complete = true;
		return;
	}
	const char *cl = hdr(r, "Content-Length");
	const char *te = hdr(r, "Transfer-Encoding");
	if (cl) {
		size_t want = strtoul(cl, NULL, 10);
		while (b->len < want && rbuf_fill(b, fd, 3000))
			;
		size_t n = b->len < want ? b->len : want;
		r->body = realloc(r->body, n + 1);
		memcpy(r->body, b->p, n);
		r->body_len = n;
		r->complete = n == want;
		rbuf_drop(b, n);
	} else if (te && strcmp(te, "chunked") == 0) {
		for (;;) {
			char *nl;
			while (!(b->len && (nl = memmem(b->p, b->len, "\r\n", 2))))
				if (!rbuf_fill(b, fd, 3000))
					return; /* cut */
			size_t sz = strtoul(b->p, NULL, 16);
			size_t line = (size_t)(nl - b->p) + 2;
			while (b->len < line + sz + 2)
				if (!rbuf_fill(b, fd, 3000))
					return;
			r->body = realloc(r->body, r->body_len + sz + 1);
			memcpy(r->body + r->body_len, b->p + line, sz);
			r->body_len += sz;
			rbuf_drop(b, line + sz + 2);
			if (sz == 0) {
				r->complete = true;
				return;
			}
		}
	} else { /* until close */
		while (rbuf_fill(b, fd, 3000))
			;
		r->body = realloc(r->body, b->len + 1);
		memcpy(r->body, b->p, b->len);
		r->body_len = b->len;
		r->complete = b->eof;
		rbuf_drop(b, b->len);
	}
}

/* One request on a new connection. */
static void get(const struct world *wd, const char *req, bool head_only, struct resp *r)
{
	struct rbuf b = { 0 };
	int fd = conn(wd);
	send_all(fd, req);
	read_resp(&b, fd, head_only, r);
	close(fd);
	free(b.p);
}

static void test_get_keepalive_pipeline(void **state)
{
	struct world *wd = *state;
	struct rbuf b = { 0 };
	struct resp r;
	int fd = conn(wd);

	send_all(fd, "GET /vm1/big HTTP/1.1\r\nHost: t\r\n\r\n");
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(r.body_len, BIG);
	assert_memory_equal(r.body, wd->big, BIG);
	assert_string_equal(hdr(&r, "Accept-Ranges"), "bytes");
	assert_null(hdr(&r, "Connection"));
	free(r.body);
	/* same connection: HEAD, then a range, pipelined in one write */
	send_all(fd, "HEAD /vm1/big HTTP/1.1\r\nHost: t\r\n\r\n"
		     "GET /vm1/big HTTP/1.1\r\nHost: t\r\nRange: bytes=1000000-1000099\r\n\r\n"
		     "GET /vm1/big HTTP/1.1\r\nHost: t\r\nRange: bytes=-10\r\n\r\n"
		     "GET /vm2/other HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
	read_resp(&b, fd, true, &r);
	assert_int_equal(r.status, 200);
	assert_int_equal(strtoul(hdr(&r, "Content-Length"), NULL, 10), BIG);
	free(r.body);
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 206);
	assert_string_equal(hdr(&r, "Content-Range"), "bytes 1000000-1000099/3145851");
	assert_int_equal(r.body_len, 100);
	assert_memory_equal(r.body, wd->big + 1000000, 100);
	free(r.body);
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 206);
	assert_memory_equal(r.body, wd->big + BIG - 10, 10);
	free(r.body);
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Connection"), "close");
	assert_memory_equal(r.body, "world\n", 6);
	free(r.body);
	/* and the server closes */
	while (rbuf_fill(&b, fd, 3000))
		;
	assert_true(b.eof);
	assert_int_equal(b.len, 0);
	close(fd);
	free(b.p);
}

static void test_errors(void **state)
{
	struct world *wd = *state;
	struct resp r;

	get(wd, "GET /vm1/big HTTP/1.1\r\nHost: t\r\nRange: bytes=9999999-\r\n\r\n", false, &r);
	assert_int_equal(r.status, 416);
	assert_string_equal(hdr(&r, "Content-Range"), "bytes */3145851");
	free(r.body);
	get(wd, "GET /vm1/nope HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 404);
	assert_non_null(strstr(r.body, "no object \"nope\" in region vm1"));
	free(r.body);
	get(wd, "GET /vm9/x HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 404);
	free(r.body);
	get(wd, "GET /vm1/a/b HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 404);
	free(r.body);
	get(wd, "POST /vm1/big HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 405);
	assert_string_equal(hdr(&r, "Allow"), "GET, HEAD");
	free(r.body);
	/* malformed: 400 and the connection closes */
	struct rbuf b = { 0 };
	int fd = conn(wd);
	send_all(fd, "GET /vm1/big HTTP/1.1\r\n\r\nGET /vm1/small HTTP/1.1\r\nHost: t\r\n\r\n");
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 400);
	assert_string_equal(hdr(&r, "Connection"), "close");
	free(r.body);
	while (rbuf_fill(&b, fd, 3000))
		;
	assert_true(b.eof && b.len == 0);
	close(fd);
	free(b.p);
	/* clients that leave mid-body (sendfile gets EPIPE / ECONNRESET, never a SIGPIPE) */
	for (int i = 0; i < 5; i++) {
		char part[4096];
		fd = conn(wd);
		send_all(fd, "GET /vm1/big HTTP/1.1\r\nHost: t\r\n\r\n");
		assert_true(read(fd, part, sizeof(part)) > 0);
		close(fd);
	}
	get(wd, "GET /vm1/small HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 200);
	free(r.body);
	/* status and listing */
	get(wd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"name\": \"vm1\""));
	assert_non_null(strstr(r.body, "\"state\": \"serving\""));
	free(r.body);
	get(wd, "GET /vm1/ HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 200);
	assert_non_null(strstr(r.body, "\"name\": \"big\""));
	assert_non_null(strstr(r.body, "\"length\": 3145851"));
	free(r.body);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { 0, ms * 1000000L };
	nanosleep(&ts, NULL);
}

/* An object served while it is written: chunked as it grows, ends when committed. */
static void test_stream(void **state)
{
	struct world *wd = *state;
	struct memnet_put p;
	struct rbuf b = { 0 };
	struct resp r;
	char err[256];

	assert_int_equal(memnet_put_begin(&wd->w[0], "live", 0, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_write(&p, wd->big, 1000, err, sizeof(err)), 0);
	sleep_ms(50); /* the server's scan sees it */
	int fd = conn(wd);
	send_all(fd, "GET /vm1/live HTTP/1.1\r\nHost: t\r\n\r\n");
	/* the head and the first chunk arrive before the object is complete */
	while (!memmem(b.p ? b.p : "", b.len, "3e8\r\n", 5))
		if (!rbuf_fill(&b, fd, 3000))
			fail_msg("no first chunk");
	for (int i = 1; i < 20; i++) {
		assert_int_equal(memnet_put_write(&p, wd->big + i * 1000, 1000, err, sizeof(err)),
				 0);
		sleep_ms(3);
	}
	assert_int_equal(memnet_put_commit(&p, err, sizeof(err)), 0);
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 200);
	assert_string_equal(hdr(&r, "Transfer-Encoding"), "chunked");
	assert_true(r.complete);
	assert_int_equal(r.body_len, 20000);
	assert_memory_equal(r.body, wd->big, 20000);
	free(r.body);
	close(fd);
	free(b.p);

	/* HTTP/1.0: until close; a range inside what exists: 206 with an unknown total */
	assert_int_equal(memnet_put_begin(&wd->w[0], "live2", 0, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_write(&p, wd->big, 5000, err, sizeof(err)), 0);
	sleep_ms(50);
	get(wd, "GET /vm1/live2 HTTP/1.1\r\nHost: t\r\nRange: bytes=10-19\r\n\r\n", false, &r);
	assert_int_equal(r.status, 206);
	assert_string_equal(hdr(&r, "Content-Range"), "bytes 10-19/*");
	assert_memory_equal(r.body, wd->big + 10, 10);
	free(r.body);
	memset(&b, 0, sizeof(b));
	fd = conn(wd);
	send_all(fd, "GET /vm1/live2 HTTP/1.0\r\n\r\n");
	sleep_ms(30);
	assert_int_equal(memnet_put_write(&p, wd->big + 5000, 5000, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_commit(&p, err, sizeof(err)), 0);
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 200);
	assert_true(r.complete);
	assert_int_equal(r.body_len, 10000);
	assert_memory_equal(r.body, wd->big, 10000);
	free(r.body);
	close(fd);
	free(b.p);

	/* withdrawn mid-stream: the response is cut (no last chunk) */
	assert_int_equal(memnet_put_begin(&wd->w[0], "cut", 0, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_write(&p, wd->big, 3000, err, sizeof(err)), 0);
	sleep_ms(50);
	memset(&b, 0, sizeof(b));
	fd = conn(wd);
	send_all(fd, "GET /vm1/cut HTTP/1.1\r\nHost: t\r\n\r\n");
	sleep_ms(30);
	memnet_put_abort(&p);
	read_resp(&b, fd, false, &r);
	assert_int_equal(r.status, 200);
	assert_false(r.complete);
	assert_true(b.eof);
	free(r.body);
	close(fd);
	free(b.p);
}

/* A corrupt header refuses that region only; put back, it serves again. */
static void test_corrupt_region(void **state)
{
	struct world *wd = *state;
	struct memnet_header saved = *wd->w[1].hdr;
	struct resp r;

	wd->w[1].hdr->slot_count = 0x7fffffff;
	sleep_ms(60);
	get(wd, "GET /vm2/other HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 503);
	assert_non_null(strstr(r.body, "region vm2 is refused: header: slot_count"));
	free(r.body);
	get(wd, "GET /vm1/small HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 200);
	assert_memory_equal(r.body, "hello\n", 6);
	free(r.body);
	get(wd, "GET / HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_non_null(strstr(r.body, "\"state\": \"refused\""));
	free(r.body);
	memcpy(wd->w[1].hdr, &saved, sizeof(saved));
	sleep_ms(60);
	get(wd, "GET /vm2/other HTTP/1.1\r\nHost: t\r\n\r\n", false, &r);
	assert_int_equal(r.status, 200);
	free(r.body);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_keepalive_pipeline),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_stream),
		cmocka_unit_test(test_corrupt_region),
	};
	log_init("test_server", VS_LOG_ERROR);
	signal(SIGPIPE, SIG_IGN);
	return cmocka_set_message_output(CM_OUTPUT_TAP),
	       cmocka_run_group_tests(tests, world_setup, world_teardown);
}
