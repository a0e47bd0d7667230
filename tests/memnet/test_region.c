/* test_region.c - the region: creation, every header check, every slot check, the guest writer (quota, growth, replace, repair after dead writers) and the host reader (lookup, pins, release, eviction, punching, refusal and recovery). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lib/log.h"
#include "memnet/reader.h"
#include "memnet/region.h"
#include "memnet/writer.h"
#include "testutil.h"

#define MiB (1u << 20)

struct fixture {
	char path[64];
	struct memnet_writer w;
};

/* A fresh region of size bytes with quota (0: all) in /dev/shm. */
static void fx_make(struct fixture *f, uint64_t size, uint32_t slots, uint64_t quota)
{
	struct memnet_create_opts o = {
		.bytes = size, .slots = slots, .quota_bytes = quota, .force = true, .mode = 0600
	};
	char err[256];
	bool usage;

	snprintf(f->path, sizeof(f->path), "/dev/shm/vsmn-test-XXXXXX");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	if (memnet_region_create(f->path, &o, &usage, err, sizeof(err)) < 0)
		fail_msg("create: %s", err);
	if (memnet_writer_open(&f->w, f->path, err, sizeof(err)) < 0)
		fail_msg("open: %s", err);
}

static void fx_free(struct fixture *f)
{
	memnet_writer_close(&f->w);
	unlink(f->path);
}

static int fx_setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	fx_make(f, 4 * MiB, 16, 0);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	fx_free(*state);
	free(*state);
	return 0;
}

static void fill(char *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		buf[i] = (char)((i * 131 + seed * 7) >> 3);
}

/* ---- creation and the header checks ------------------------------------- */

static void test_create(void **state)
{
	struct memnet_create_opts o = { .bytes = 3 * MiB, .mode = 0600 };
	char err[256], path[] = "/dev/shm/vsmn-test-XXXXXX";
	bool usage;
	struct stat st;

	int fd = mkstemp(path);
	close(fd);
	unlink(path);
	/* not a power of two: QEMU's ivshmem would abort */
	assert_int_equal(memnet_region_create(path, &o, &usage, err, sizeof(err)), -1);
	assert_true(usage);
	assert_non_null(strstr(err, "power of two"));
	o.bytes = 4 * MiB;
	o.quota_bytes = 8 * MiB;
	assert_int_equal(memnet_region_create(path, &o, &usage, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "more than the"));
	o.quota_bytes = 0;
	assert_int_equal(memnet_region_create(path, &o, &usage, err, sizeof(err)), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_size, 4 * MiB);
	assert_true(st.st_blocks * 512 <= 16384); /* sparse: header page (+ tmpfs rounding) */
	/* exists: refused without force */
	assert_int_equal(memnet_region_create(path, &o, &usage, err, sizeof(err)), -1);
	assert_false(usage);
	assert_non_null(strstr(err, "--force"));
	o.force = true;
	assert_int_equal(memnet_region_create(path, &o, &usage, err, sizeof(err)), 0);
	unlink(path);
}

static void expect_refused(struct memnet_header *h, uint64_t bytes, const char *what)
{
	struct memnet_geom g;
	char err[256];

	assert_int_equal(memnet_geom_read(h, bytes, &g, err, sizeof(err)), -1);
	if (!strstr(err, what))
		fail_msg("expected \"%s\" in \"%s\"", what, err);
}

static void test_header_checks(void **state)
{
	struct memnet_header good, h;
	struct memnet_geom g;
	char err[256];
	uint64_t size = 1 * MiB;

	assert_int_equal(memnet_geom_init(&good, size, 64, err, sizeof(err)), 0);
	/* 64 slots * 128 = 8 KiB table after the 4 KiB header: data at 12 KiB */
	assert_int_equal(good.data_off, 12288);
	assert_int_equal(memnet_geom_read(&good, size, &g, err, sizeof(err)), 0);
	assert_int_equal(g.data_bytes, size - 12288);
	assert_int_equal(g.quota_bytes, g.data_bytes);

	h = good;
	h.magic = 0x1122334455667788;
	expect_refused(&h, size, "bad magic");
	h = good;
	h.magic = __builtin_bswap64(MEMNET_MAGIC);
	expect_refused(&h, size, "other byte order");
	h = good;
	h.version = 2;
	expect_refused(&h, size, "layout version 2");
	h = good;
	h.slot_bytes = 64;
	expect_refused(&h, size, "slot_bytes");
	expect_refused(&good, 2 * MiB, "region_bytes");
	h = good;
	h.slot_count = 0xffffffff; /* a huge count */
	expect_refused(&h, size, "slot_count 4294967295 out of range");
	h = good;
	h.slot_count = 65536; /* in range, but the table would not fit 1 MiB */
	expect_refused(&h, size, "data_off");
	h = good;
	h.data_off = size + 4096;
	expect_refused(&h, size, "data_off");
	h = good;
	h.table_off = 0;
	expect_refused(&h, size, "table_off");
	h = good;
	h.data_bytes = size;
	expect_refused(&h, size, "data_bytes");
	/* a quota beyond the data area is clamped, not trusted */
	h = good;
	h.quota_bytes = UINT64_MAX;
	assert_int_equal(memnet_geom_read(&h, size, &g, err, sizeof(err)), 0);
	assert_int_equal(g.quota_bytes, g.data_bytes);
	/* random headers never pass with garbage geometry */
	uint64_t seed = 3;
	for (int t = 0; t < 20000; t++) {
		h = good;
		uint8_t *b = (uint8_t *)&h;
		for (int k = 0; k < 1 + (int)(vs_test_rand(&seed) % 4); k++)
			b[vs_test_rand(&seed) % 64] = (uint8_t)vs_test_rand(&seed);
		if (memnet_geom_read(&h, size, &g, err, sizeof(err)) == 0) {
			assert_true(g.data_off + g.data_bytes == size);
			assert_true(g.table_off + (uint64_t)g.slot_count * 128 <= g.data_off);
		}
	}
}

static void test_slot_checks(void **state)
{
	struct memnet_header h;
	struct memnet_geom g;
	struct memnet_slot s;
	struct memnet_obj o;
	char err[256];

	memnet_geom_init(&h, 1 * MiB, 64, err, sizeof(err));
	memnet_geom_read(&h, 1 * MiB, &g, err, sizeof(err));
	memset(&s, 0, sizeof(s));
	s.seq = 2;
	s.gen = 1;
	s.state = MEMNET_COMPLETE;
	s.name_len = 3;
	memcpy(s.name, "a.b", 3);
	s.data_off = 4096;
	s.capacity = 8192;
	s.length = 5000;
	assert_int_equal(memnet_slot_read(&s, &g, &o, err, sizeof(err)), MEMNET_READ_OK);
	assert_string_equal(o.name, "a.b");
	struct memnet_slot t = s;
	t.seq = 3; /* the guest is mid-update */
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_BUSY);
	t = s;
	t.state = 9;
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	assert_non_null(strstr(err, "state 9"));
	t = s;
	t.gen = 0;
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	t = s;
	t.name_len = 200;
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	assert_non_null(strstr(err, "name_len 200"));
	t = s;
	memcpy(t.name, "../", 3);
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	t = s;
	t.name_len = 0;
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	t = s;
	t.data_off = g.data_bytes; /* out-of-range offset */
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	assert_non_null(strstr(err, "outside the"));
	t = s;
	t.data_off = UINT64_MAX - 100; /* offset + capacity wraps */
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	t = s;
	t.capacity = UINT64_MAX;
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	t = s;
	t.length = t.capacity + 1;
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_CORRUPT);
	assert_non_null(strstr(err, "beyond its capacity"));
	/* a full-length name has no NUL in the slot */
	t = s;
	t.name_len = MEMNET_NAME_MAX;
	memset(t.name, 'n', MEMNET_NAME_MAX);
	assert_int_equal(memnet_slot_read(&t, &g, &o, err, sizeof(err)), MEMNET_READ_OK);
	assert_int_equal(strlen(o.name), MEMNET_NAME_MAX);
}

/* ---- the guest writer ------------------------------------------------------ */

static void test_put_list_rm(void **state)
{
	struct fixture *f = *state;
	struct memnet_obj *objs;
	struct memnet_usage u;
	size_t n;
	char err[256], buf[10000];

	fill(buf, sizeof(buf), 1);
	assert_int_equal(memnet_put_buf(&f->w, "one", buf, sizeof(buf), 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&f->w, "two", buf, 100, 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&f->w, "bad/name", buf, 1, 0, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "0x2f"));
	assert_int_equal(memnet_list(&f->w, &objs, &n, &u, err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_string_equal(objs[0].name, "one");
	assert_int_equal(objs[0].length, sizeof(buf));
	assert_int_equal(objs[0].capacity, 12288); /* pages */
	assert_int_equal(objs[0].state, MEMNET_COMPLETE);
	assert_int_equal(u.used_bytes, 12288 + 4096);
	assert_memory_equal(f->w.data + objs[0].data_off, buf, sizeof(buf));
	/* extents do not overlap */
	assert_true(objs[1].data_off >= objs[0].data_off + objs[0].capacity ||
		    objs[0].data_off >= objs[1].data_off + objs[1].capacity);
	free(objs);
	/* replace: the name now means the new object, the old one is REMOVED */
	assert_int_equal(memnet_put_buf(&f->w, "one", buf, 50, 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_list(&f->w, &objs, &n, &u, err, sizeof(err)), 0);
	assert_int_equal(n, 3);
	int removed = 0, complete = 0;
	for (size_t i = 0; i < n; i++) {
		removed += objs[i].state == MEMNET_REMOVED;
		complete += objs[i].state == MEMNET_COMPLETE && strcmp(objs[i].name, "one") == 0 &&
			    objs[i].length == 50;
	}
	assert_int_equal(removed, 1);
	assert_int_equal(complete, 1);
	free(objs);
	assert_int_equal(memnet_rm(&f->w, "two", err, sizeof(err)), 1);
	assert_int_equal(memnet_rm(&f->w, "nope", err, sizeof(err)), 0);
	/* job counters */
	assert_int_equal(memnet_job_done(&f->w, 1500, 20000, 4096, err, sizeof(err)), 0);
	struct memnet_jobs j;
	memnet_jobs_read(f->w.hdr, &j);
	assert_int_equal(j.jobs_done, 1);
	assert_int_equal(j.service_us_sum, 1500);
	assert_int_equal(j.response_us_sum, 20000);
	assert_int_equal(j.bytes_sum, 4096);
}

static void test_quota(void **state)
{
	struct fixture f;
	char err[256], *buf = calloc(1, 600000);

	fx_make(&f, 2 * MiB, 16, 1 * MiB);
	assert_int_equal(memnet_put_buf(&f.w, "a", buf, 600000, 0, err, sizeof(err)), 0);
	/* 602112 in use of a 1 MiB quota: another 602112 does not fit */
	assert_int_equal(memnet_put_buf(&f.w, "b", buf, 600000, 0, err, sizeof(err)),
			 MEMNET_ENOSPACE);
	assert_non_null(strstr(err, "quota exceeded"));
	assert_non_null(strstr(err, "602112 are in use"));
	/* bigger than the whole data area */
	assert_int_equal(memnet_put_buf(&f.w, "c", buf, 0, 0, err, sizeof(err)), 0);
	struct memnet_put p;
	assert_int_equal(memnet_put_begin(&f.w, "d", 3 * MiB, 0, &p, err, sizeof(err)),
			 MEMNET_ENOSPACE);
	/* a stream of unknown size gets the rest of the quota; it cannot outgrow it */
	assert_int_equal(memnet_put_begin(&f.w, "s", 0, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(p.capacity, 1 * MiB - 602112);
	assert_int_equal(memnet_put_write(&p, buf, 400000, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_write(&p, buf, 100000, err, sizeof(err)), MEMNET_ENOSPACE);
	assert_non_null(strstr(err, "outgrew"));
	memnet_put_abort(&p);
	/* the host raises the quota: now it fits */
	memnet_store_rel(&f.w.hdr->quota_bytes, 2 * MiB);
	assert_int_equal(memnet_put_buf(&f.w, "b", buf, 600000, 0, err, sizeof(err)), 0);
	/* all slots in use */
	for (int i = 0; i < 20; i++) {
		char name[16];
		snprintf(name, sizeof(name), "n%d", i);
		int rc = memnet_put_buf(&f.w, name, buf, 1, 0, err, sizeof(err));
		if (rc != 0) {
			assert_int_equal(rc, MEMNET_ENOSPACE);
			assert_non_null(strstr(err, "slots"));
			break;
		}
		assert_true(i < 16);
	}
	free(buf);
	fx_free(&f);
}

/* Growing in place while the bytes after the extent are free. */
static void test_grow(void **state)
{
	struct fixture *f = *state;
	struct memnet_put p;
	char err[256], buf[5000];

	fill(buf, sizeof(buf), 2);
	assert_int_equal(memnet_put_begin(&f->w, "g", 4096, 0, &p, err, sizeof(err)), 0);
	for (int i = 0; i < 10; i++)
		assert_int_equal(memnet_put_write(&p, buf, sizeof(buf), err, sizeof(err)), 0);
	assert_true(p.capacity >= 50000);
	/* what the host sees while it grows: WRITING with the published length */
	struct memnet_obj o;
	assert_int_equal(memnet_slot_read(&f->w.slots[p.slot], &f->w.geom, &o, err, sizeof(err)),
			 MEMNET_READ_OK);
	assert_int_equal(o.state, MEMNET_WRITING);
	assert_int_equal(o.length, 50000);
	assert_int_equal(memnet_put_commit(&p, err, sizeof(err)), 0);
	assert_int_equal(memnet_slot_read(&f->w.slots[p.slot], &f->w.geom, &o, err, sizeof(err)),
			 MEMNET_READ_OK);
	assert_int_equal(o.state, MEMNET_COMPLETE);
	assert_int_equal(o.capacity, 53248); /* given back down to whole pages */
	for (int i = 0; i < 10; i++)
		assert_memory_equal(f->w.data + o.data_off + i * sizeof(buf), buf, sizeof(buf));
	/* a second object right behind blocks growth of a third in front of it: it moves
	 * on only by failing (extents are contiguous) */
	struct memnet_put a, b;
	assert_int_equal(memnet_put_begin(&f->w, "a", 4096, 0, &a, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_begin(&f->w, "b", 4096, 0, &b, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_write(&a, buf, 4096, err, sizeof(err)), 0);
	if (b.data_off == a.data_off + a.capacity)
		assert_int_equal(memnet_put_write(&a, buf, 10, err, sizeof(err)), MEMNET_ENOSPACE);
	memnet_put_abort(&a);
	memnet_put_abort(&b);
}

/* Reading from a pipe straight into the region. */
static void test_from_fd(void **state)
{
	struct fixture *f = *state;
	struct memnet_put p;
	char err[256], *buf = malloc(300000);
	int fds[2];

	fill(buf, 300000, 3);
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		close(fds[0]);
		for (size_t off = 0; off < 300000; off += 7000) {
			size_t n = 300000 - off < 7000 ? 300000 - off : 7000;
			if (write(fds[1], buf + off, n) != (ssize_t)n)
				_exit(1);
		}
		_exit(0);
	}
	close(fds[1]);
	assert_int_equal(memnet_put_begin(&f->w, "piped", 8192, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_from_fd(&p, fds[0], err, sizeof(err)), 0);
	assert_int_equal(memnet_put_commit(&p, err, sizeof(err)), 0);
	close(fds[0]);
	waitpid(pid, NULL, 0);
	assert_int_equal(p.length, 300000);
	assert_memory_equal(f->w.data + p.data_off, buf, 300000);
	/* exactly the reservation: no growth needed at the end (a full quota still works) */
	struct fixture g;
	fx_make(&g, 1 * MiB, 16, 8192);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], buf, 8192), 8192);
	close(fds[1]);
	assert_int_equal(memnet_put_begin(&g.w, "exact", 8192, 0, &p, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_from_fd(&p, fds[0], err, sizeof(err)), 0);
	assert_int_equal(memnet_put_commit(&p, err, sizeof(err)), 0);
	close(fds[0]);
	fx_free(&g);
	free(buf);
}

/* Writers that died: a slot left mid-update (odd seq) and a WRITING object whose
 * process is gone are cleaned up by the next writer. */
static void test_repair(void **state)
{
	struct fixture *f = *state;
	struct memnet_put p;
	struct memnet_obj *objs;
	struct memnet_usage u;
	size_t n;
	char err[256];

	pid_t pid = fork();
	if (pid == 0) {
		struct memnet_writer w;
		if (memnet_writer_open(&w, f->path, err, sizeof(err)) < 0 ||
		    memnet_put_begin(&w, "orphan", 4096, 0, &p, err, sizeof(err)) != 0)
			_exit(1);
		memnet_slot_begin(&w.slots[5]); /* dies mid-update of another slot */
		_exit(0);
	}
	int st;
	waitpid(pid, &st, 0);
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(memnet_list(&f->w, &objs, &n, &u, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_string_equal(objs[0].name, "orphan");
	assert_int_equal(objs[0].state, MEMNET_REMOVED); /* its writer is gone */
	assert_true(f->w.repaired >= 2);
	assert_int_equal(f->w.slots[5].seq & 1, 0);
	free(objs);
}

/* ---- the host reader ------------------------------------------------------ */

static void reader_open(struct memnet_reader *r, const char *path)
{
	char err[256];
	assert_int_equal(memnet_reader_init(r, "vm", path, err, sizeof(err)), 0);
	memnet_reader_scan(r, 1, true);
	assert_true(r->ok);
}

static void test_reader(void **state)
{
	struct fixture *f = *state;
	struct memnet_reader r;
	struct memnet_evict_opts ev = { .punch = true };
	char err[256], buf[20000];
	struct stat st;

	fill(buf, sizeof(buf), 4);
	assert_int_equal(memnet_put_buf(&f->w, "a", buf, sizeof(buf), 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&f->w, "b", buf, 100, 0, err, sizeof(err)), 0);
	reader_open(&r, f->path);
	assert_int_equal(r.n_live, 2);
	int a = memnet_reader_find(&r, "a");
	assert_true(a >= 0);
	assert_int_equal(memnet_reader_find(&r, "zz"), -1);
	assert_memory_equal(memnet_reader_bytes(&r, a), buf, sizeof(buf));
	/* the guest removes "a" while the host sends it: pinned, not released */
	memnet_reader_pin(&r, a, 10);
	assert_int_equal(memnet_rm(&f->w, "a", err, sizeof(err)), 1);
	memnet_reader_scan(&r, 20, false);
	assert_int_equal(memnet_reader_find(&r, "a"), -1); /* no new response */
	assert_int_equal(memnet_reader_enforce(&r, &ev), 0);
	assert_int_equal(f->w.slots[a].released_gen, 0);
	stat(f->path, &st);
	long blocks = st.st_blocks;
	memnet_reader_unpin(&r, a);
	assert_int_equal(memnet_reader_enforce(&r, &ev), 1);
	assert_int_equal(f->w.slots[a].released_gen, f->w.slots[a].gen);
	assert_int_equal(r.punched_bytes, 20480);
	stat(f->path, &st);
	assert_true(st.st_blocks < blocks); /* the pages left the file */
	/* the guest reuses the released extent */
	struct memnet_obj *objs;
	struct memnet_usage u;
	size_t n;
	assert_int_equal(memnet_list(&f->w, &objs, &n, &u, err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	free(objs);
	memnet_reader_free(&r);
}

static void test_eviction(void **state)
{
	struct fixture f;
	struct memnet_reader r;
	struct memnet_evict_opts ev = { .punch = true };
	char err[256], *buf = calloc(1, 300000);

	fx_make(&f, 2 * MiB, 16, 1 * MiB);
	assert_int_equal(memnet_put_buf(&f.w, "old", buf, 300000, 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&f.w, "new", buf, 300000, 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&f.w, "unserved", buf, 300000, 0, err, sizeof(err)), 0);
	reader_open(&r, f.path);
	/* both served once, "old" longer ago */
	int o = memnet_reader_find(&r, "old"), nw = memnet_reader_find(&r, "new");
	memnet_reader_pin(&r, o, 100);
	memnet_reader_unpin(&r, o);
	r.slots[o].full_serves = 1;
	memnet_reader_pin(&r, nw, 200);
	memnet_reader_unpin(&r, nw);
	r.slots[nw].full_serves = 1;
	/* the quota shrinks below what is in use (the orchestrator): the LRU served object
	 * goes, the unserved one stays */
	assert_int_equal(memnet_reader_set_quota(&r, 700000), 1);
	assert_int_equal(memnet_reader_set_quota(&r, 700000), 0); /* idempotent */
	assert_int_equal(memnet_load_acq(&f.w.hdr->quota_bytes), 700000);
	assert_int_equal(memnet_reader_enforce(&r, &ev), 1);
	assert_int_equal(memnet_reader_find(&r, "old"), -1);
	assert_true(memnet_reader_find(&r, "new") >= 0);
	assert_true(memnet_reader_find(&r, "unserved") >= 0);
	assert_int_equal(r.evictions, 1);
	/* a put waiting for room: need_bytes makes the host evict "new" */
	memnet_store_rel(&f.w.hdr->quota_bytes, 1 * MiB);
	memnet_reader_scan(&r, 300, true);
	memnet_store_rel(&f.w.hdr->need_bytes, 500000);
	memnet_reader_scan(&r, 400, true);
	assert_int_equal(memnet_reader_enforce(&r, &ev), 1);
	assert_int_equal(memnet_reader_find(&r, "new"), -1);
	/* nothing served is left: the unserved object is kept unless allowed */
	memnet_store_rel(&f.w.hdr->need_bytes, 900000);
	memnet_reader_scan(&r, 500, true);
	assert_int_equal(memnet_reader_enforce(&r, &ev), 0);
	ev.unserved = true;
	assert_int_equal(memnet_reader_enforce(&r, &ev), 1);
	/* evict after N serves */
	memnet_store_rel(&f.w.hdr->need_bytes, 0);
	assert_int_equal(memnet_put_buf(&f.w, "once", buf, 10, 0, err, sizeof(err)), 0);
	memnet_reader_scan(&r, 600, false);
	int k = memnet_reader_find(&r, "once");
	assert_true(k >= 0);
	struct memnet_evict_opts once = { .after_serves = 1 };
	assert_int_equal(memnet_reader_enforce(&r, &once), 0);
	r.slots[k].full_serves = 1;
	assert_int_equal(memnet_reader_enforce(&r, &once), 1);
	memnet_reader_free(&r);
	free(buf);
	fx_free(&f);
}

/* A put waiting for room while the host evicts (two threads, one region). */
struct waiter {
	struct memnet_writer *w;
	int rc;
	char err[256];
};

static void *wait_put(void *arg)
{
	struct waiter *wt = arg;
	char *buf = calloc(1, 500000);
	wt->rc = memnet_put_buf(wt->w, "late", buf, 500000, 3000, wt->err, sizeof(wt->err));
	free(buf);
	return NULL;
}

static void test_wait(void **state)
{
	struct fixture f;
	struct memnet_reader r;
	struct memnet_evict_opts ev = { .punch = true };
	struct waiter wt;
	pthread_t th;
	char err[256], *buf = calloc(1, 600000);

	fx_make(&f, 2 * MiB, 16, 1 * MiB);
	assert_int_equal(memnet_put_buf(&f.w, "big", buf, 600000, 0, err, sizeof(err)), 0);
	reader_open(&r, f.path);
	r.slots[memnet_reader_find(&r, "big")].full_serves = 1;
	wt.w = &f.w;
	pthread_create(&th, NULL, wait_put, &wt);
	uint64_t need = 0;
	for (int i = 0; i < 200 && need == 0; i++) {
		usleep(10000);
		memnet_reader_scan(&r, 1000 + (uint64_t)i, false);
		need = r.need_bytes;
	}
	assert_int_equal(need, 503808); /* 500000 in whole pages */
	memnet_reader_enforce(&r, &ev);
	pthread_join(th, NULL);
	assert_int_equal(wt.rc, 0);
	assert_int_equal(memnet_load_acq(&f.w.hdr->need_bytes), 0);
	memnet_reader_scan(&r, 5000, false);
	assert_true(memnet_reader_find(&r, "late") >= 0);
	memnet_reader_free(&r);
	free(buf);
	fx_free(&f);
}

/* Corruption: a bad slot is refused alone; a bad header refuses the region until it is
 * good again; a file that shrank is refused. */
static void test_reader_corruption(void **state)
{
	struct fixture *f = *state;
	struct memnet_reader r;
	char err[256], buf[100] = "x";

	log_init("test_region", VS_LOG_ERROR);
	assert_int_equal(memnet_put_buf(&f->w, "good", buf, sizeof(buf), 0, err, sizeof(err)), 0);
	assert_int_equal(memnet_put_buf(&f->w, "evil", buf, sizeof(buf), 0, err, sizeof(err)), 0);
	reader_open(&r, f->path);
	int e = memnet_reader_find(&r, "evil");
	/* out-of-range offset in one slot */
	f->w.slots[e].data_off = UINT64_C(1) << 40;
	memnet_reader_scan(&r, 10, true);
	assert_true(r.ok);
	assert_int_equal(memnet_reader_find(&r, "evil"), -1);
	assert_true(memnet_reader_find(&r, "good") >= 0);
	assert_int_equal(r.n_bad, 1);
	/* a huge count in the header: the region is refused as a whole */
	struct memnet_header saved = *f->w.hdr;
	f->w.hdr->slot_count = 0x7fffffff;
	assert_true(memnet_reader_scan(&r, 20, true));
	assert_false(r.ok);
	assert_non_null(strstr(r.error, "slot_count"));
	assert_int_equal(memnet_reader_find(&r, "good"), -1);
	/* random bytes over the header */
	uint64_t seed = 11;
	for (size_t i = 0; i < 64; i++)
		((uint8_t *)f->w.hdr)[i] = (uint8_t)vs_test_rand(&seed);
	memnet_reader_scan(&r, 30, true);
	assert_false(r.ok);
	assert_int_equal(memnet_reader_set_quota(&r, 4096), -1); /* no writes to it */
	/* put back: served again */
	memcpy(f->w.hdr, &saved, 64);
	assert_true(memnet_reader_scan(&r, 40, true));
	assert_true(r.ok);
	assert_true(memnet_reader_find(&r, "good") >= 0);
	assert_int_equal(r.refusals, 2);
	/* the file shrinks: the mapping is dropped (nothing read past the end) and the file
	 * re-opened, whose header no longer matches its size: refused */
	assert_int_equal(truncate(f->path, 1 * MiB), 0);
	memnet_reader_scan(&r, 50, false);
	assert_false(r.ok);
	assert_int_equal(r.reg.bytes, 1 * MiB);
	assert_non_null(strstr(r.error, "region_bytes 4194304 but the region is 1048576"));
	memnet_reader_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create),
		cmocka_unit_test(test_header_checks),
		cmocka_unit_test(test_slot_checks),
		cmocka_unit_test_setup_teardown(test_put_list_rm, fx_setup, fx_teardown),
		cmocka_unit_test(test_quota),
		cmocka_unit_test_setup_teardown(test_grow, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_from_fd, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_repair, fx_setup, fx_teardown),
		cmocka_unit_test_setup_teardown(test_reader, fx_setup, fx_teardown),
		cmocka_unit_test(test_eviction),
		cmocka_unit_test(test_wait),
		cmocka_unit_test_setup_teardown(test_reader_corruption, fx_setup, fx_teardown),
	};
	log_init("test_region", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
