/* writer.c - the guest side of a MemNet region: reserve, write and publish objects within the host's quota (flock among guest writers). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "memnet/writer.h"

/* PCI ids of QEMU's ivshmem device (hw/misc/ivshmem.c: PCI_VENDOR_ID_REDHAT_QUMRANET, 0x1110). */
#define MEMNET_PCI_VENDOR 0x1af4
#define MEMNET_PCI_DEVICE 0x1110
/* How often a waiting put looks again. */
#define MEMNET_WAIT_STEP_MS 20

static uint64_t memnet_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static uint64_t memnet_page_up(uint64_t n)
{
	return (n + MEMNET_PAGE_BYTES - 1) / MEMNET_PAGE_BYTES * MEMNET_PAGE_BYTES;
}

int memnet_writer_open_fd(struct memnet_writer *w, int fd, const char *name, char *err,
			  size_t errlen)
{
	char why[256];

	memset(w, 0, sizeof(*w));
	if (memnet_region_map_fd(&w->reg, fd, name, err, errlen) < 0)
		return -1;
	w->hdr = memnet_region_header(&w->reg);
	if (memnet_geom_read(w->hdr, w->reg.bytes, &w->geom, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: %s", name, why);
		memnet_region_unmap(&w->reg);
		return -1;
	}
	w->slots = memnet_slots(w->reg.base, &w->geom);
	w->data = (char *)w->reg.base + w->geom.data_off;
	return 0;
}

int memnet_writer_open(struct memnet_writer *w, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		memset(w, 0, sizeof(*w));
		w->reg.fd = -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return memnet_writer_open_fd(w, fd, path, err, errlen);
}

void memnet_writer_close(struct memnet_writer *w)
{
	memnet_region_unmap(&w->reg);
}

/* ---- PCI discovery (guest) ---------------------------------------------- */

static int memnet_read_hex(int dirfd, const char *path, unsigned long *v)
{
	char buf[32];
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	char *end;
	errno = 0;
	*v = strtoul(buf, &end, 16);
	if (errno || end == buf)
		return -1;
	return 0;
}

static bool memnet_is_ivshmem(int devfd, const char *bdf)
{
	char p[300];
	unsigned long vendor, device;

	snprintf(p, sizeof(p), "%s/vendor", bdf);
	if (memnet_read_hex(devfd, p, &vendor) < 0)
		return false;
	snprintf(p, sizeof(p), "%s/device", bdf);
	if (memnet_read_hex(devfd, p, &device) < 0)
		return false;
	return vendor == MEMNET_PCI_VENDOR && device == MEMNET_PCI_DEVICE;
}

int memnet_pci_open(const char *sysroot, const char *bdf, char *name, size_t namelen, char *err,
		    size_t errlen)
{
	char found[256] = "", p[300];
	int rootfd, devfd, n = 0, fd = -1;

	rootfd = open(sysroot, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0) {
		snprintf(err, errlen, "%s: %s", sysroot, strerror(errno));
		return -1;
	}
	devfd = openat(rootfd, "sys/bus/pci/devices", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	close(rootfd);
	if (devfd < 0) {
		snprintf(err, errlen, "%s/sys/bus/pci/devices: %s", sysroot, strerror(errno));
		return -1;
	}
	if (bdf) {
		if (strchr(bdf, '/') || bdf[0] == '.' || strlen(bdf) >= sizeof(found)) {
			snprintf(err, errlen, "--pci %s: not a PCI address (e.g. 0000:00:04.0)",
				 bdf);
			close(devfd);
			return -1;
		}
		if (!memnet_is_ivshmem(devfd, bdf)) {
			snprintf(err, errlen,
				 "PCI device %s: not found or not an ivshmem device (1af4:1110)",
				 bdf);
			close(devfd);
			return -1;
		}
		str_copy(found, bdf, sizeof(found));
	} else {
		int dfd = dup(devfd);
		DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
		struct dirent *de;
		if (!d) {
			if (dfd >= 0)
				close(dfd);
			snprintf(err, errlen, "PCI devices: %s", strerror(errno));
			close(devfd);
			return -1;
		}
		while ((de = readdir(d)) != NULL) {
			if (de->d_name[0] == '.' || !memnet_is_ivshmem(devfd, de->d_name))
				continue;
			if (n++ == 0)
				str_copy(found, de->d_name, sizeof(found));
		}
		closedir(d);
		if (n == 0)
			snprintf(err, errlen, "no ivshmem PCI device (1af4:1110) in this machine");
		else if (n > 1)
			snprintf(
				err, errlen,
				"%d ivshmem PCI devices (the first: %s): choose one with --pci BDF",
				n, found);
		if (n != 1) {
			close(devfd);
			return -1;
		}
	}
	/* a device no driver claimed may have memory decoding off: enable it */
	unsigned long enabled = 1;
	snprintf(p, sizeof(p), "%s/enable", found);
	if (memnet_read_hex(devfd, p, &enabled) == 0 && enabled == 0) {
		int efd = openat(devfd, p, O_WRONLY | O_CLOEXEC);
		if (efd < 0 || write(efd, "1", 1) != 1) {
			snprintf(err, errlen, "PCI device %s: cannot enable it: %s", found,
				 strerror(errno));
			if (efd >= 0)
				close(efd);
			close(devfd);
			return -1;
		}
		close(efd);
	}
	snprintf(p, sizeof(p), "%s/resource2", found);
	fd = openat(devfd, p, O_RDWR | O_CLOEXEC);
	snprintf(name, namelen, "%s%ssys/bus/pci/devices/%s", sysroot,
		 sysroot[strlen(sysroot) - 1] == '/' ? "" : "/", p);
	if (fd < 0)
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
	close(devfd);
	return fd;
}

/* ---- The table under the lock -------------------------------------------- */

static int memnet_lock(struct memnet_writer *w, char *err, size_t errlen)
{
	while (flock(w->reg.fd, LOCK_EX) < 0) {
		if (errno == EINTR)
			continue;
		snprintf(err, errlen, "%s: flock: %s", w->reg.path, strerror(errno));
		return -1;
	}
	return 0;
}

static void memnet_unlock(struct memnet_writer *w)
{
	flock(w->reg.fd, LOCK_UN);
}

static void memnet_touch_table(struct memnet_writer *w)
{
	memnet_store_rel(&w->hdr->table_seq, memnet_load_rlx(&w->hdr->table_seq) + 1);
}

static void memnet_set_state(struct memnet_slot *s, enum memnet_state st)
{
	memnet_slot_begin(s);
	__atomic_store_n(&s->state, (uint32_t)st, __ATOMIC_RELAXED);
	memnet_store_rlx(&s->mtime_ns, memnet_now_ns());
	memnet_slot_end(s);
}

/* A consistent, checked copy of slot i, repairing what dead writers left.
 * Returns true when the slot holds an object the host has not released. */
static bool memnet_slot_live(struct memnet_writer *w, uint32_t i, struct memnet_obj *o)
{
	struct memnet_slot *s = &w->slots[i];
	char why[160];
	enum memnet_read r = memnet_slot_read(s, &w->geom, o, why, sizeof(why));

	if (r == MEMNET_READ_BUSY) {
		/* under the lock nobody else writes: a writer died mid-update */
		memnet_slot_end(s);
		w->repaired++;
		r = memnet_slot_read(s, &w->geom, o, why, sizeof(why));
	}
	if (r != MEMNET_READ_OK) {
		memnet_set_state(s, MEMNET_FREE);
		w->repaired++;
		o->state = MEMNET_FREE;
		return false;
	}
	if (o->state == MEMNET_FREE)
		return false;
	if (o->released_gen == o->gen) {
		memnet_set_state(s, MEMNET_FREE); /* the host let it go: reuse */
		o->state = MEMNET_FREE;
		return false;
	}
	if (o->state == MEMNET_WRITING && o->writer_pid != (uint32_t)getpid() &&
	    o->writer_pid != 0 && kill((pid_t)o->writer_pid, 0) < 0 && errno == ESRCH) {
		memnet_set_state(s, MEMNET_REMOVED); /* its writer is gone */
		o->state = MEMNET_REMOVED;
		w->repaired++;
	}
	return true;
}

struct memnet_extent {
	uint64_t off, len;
};

static int memnet_extent_cmp(const void *a, const void *b)
{
	const struct memnet_extent *x = a, *y = b;
	return x->off < y->off ? -1 : x->off > y->off;
}

/* What the table holds: usage, a free slot, the next gen, the extents. */
struct memnet_scan {
	uint64_t used, max_gen;
	int64_t free_slot;
	size_t n_ext;
	struct memnet_extent *ext; /* slot_count entries */
};

static int memnet_scan_table(struct memnet_writer *w, struct memnet_scan *sc, int64_t skip_slot)
{
	struct memnet_obj o;

	memset(sc, 0, sizeof(*sc));
	sc->free_slot = -1;
	sc->ext = malloc(sizeof(*sc->ext) * w->geom.slot_count);
	if (!sc->ext)
		return -1;
	for (uint32_t i = 0; i < w->geom.slot_count; i++) {
		bool live = memnet_slot_live(w, i, &o);
		if (o.gen > sc->max_gen)
			sc->max_gen = o.gen;
		if (!live) {
			if (sc->free_slot < 0)
				sc->free_slot = i;
			continue;
		}
		sc->used += o.capacity;
		if ((int64_t)i == skip_slot)
			continue;
		sc->ext[sc->n_ext].off = o.data_off;
		sc->ext[sc->n_ext].len = o.capacity;
		sc->n_ext++;
	}
	qsort(sc->ext, sc->n_ext, sizeof(*sc->ext), memnet_extent_cmp);
	return 0;
}

/* First gap of at least need bytes (need 0: the largest gap). Returns its
 * offset, *gap its size; -1 when none. */
static int64_t memnet_find_gap(const struct memnet_scan *sc, uint64_t data_bytes, uint64_t need,
			       uint64_t *gap)
{
	uint64_t at = 0, best_len = 0;
	int64_t best = -1;

	for (size_t k = 0; k <= sc->n_ext; k++) {
		uint64_t end = k < sc->n_ext ? sc->ext[k].off : data_bytes;
		if (end > at) {
			uint64_t len = end - at;
			if (need && len >= need) {
				*gap = len;
				return (int64_t)at;
			}
			if (!need && len > best_len) {
				best_len = len;
				best = (int64_t)at;
			}
		}
		if (k < sc->n_ext) {
			uint64_t e = memnet_page_up(sc->ext[k].off + sc->ext[k].len);
			if (e > at)
				at = e;
		}
	}
	if (need == 0 && best >= 0) {
		*gap = best_len;
		return best;
	}
	if (need == 0) { /* an empty object fits anywhere */
		*gap = 0;
		return 0;
	}
	return -1;
}

/* One attempt under the lock. Returns 0, MEMNET_ENOSPACE (with *need) or -1. */
static int memnet_try_begin(struct memnet_writer *w, const char *name, uint64_t reserve,
			    struct memnet_put *p, uint64_t *need, char *err, size_t errlen)
{
	struct memnet_scan sc;
	uint64_t quota = memnet_load_acq(&w->hdr->quota_bytes), gap = 0, want;
	int64_t at;

	if (quota > w->geom.data_bytes)
		quota = w->geom.data_bytes;
	if (memnet_scan_table(w, &sc, -1) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	uint64_t room = sc.used < quota ? quota - sc.used : 0;
	*need = reserve ? reserve : MEMNET_PAGE_BYTES;
	if (sc.free_slot < 0) {
		snprintf(err, errlen, "all %u slots of the region are in use", w->geom.slot_count);
		free(sc.ext);
		return MEMNET_ENOSPACE;
	}
	if (reserve > room) {
		snprintf(err, errlen,
			 "quota exceeded: \"%s\" needs %" PRIu64 " bytes, the quota is %" PRIu64
			 " and %" PRIu64 " are in use",
			 name, reserve, quota, sc.used);
		free(sc.ext);
		return MEMNET_ENOSPACE;
	}
	at = memnet_find_gap(&sc, w->geom.data_bytes, reserve, &gap);
	if (at < 0) {
		snprintf(err, errlen,
			 "no contiguous %" PRIu64 " bytes free in the data area (%" PRIu64
			 " in use)",
			 reserve, sc.used);
		free(sc.ext);
		return MEMNET_ENOSPACE;
	}
	want = reserve;
	if (reserve == 0) { /* size unknown: the largest extent the quota allows */
		want = gap < room ? gap : room;
		want = want / MEMNET_PAGE_BYTES * MEMNET_PAGE_BYTES;
		if (want == 0) {
			snprintf(err, errlen,
				 "quota exceeded: no free page for \"%s\" (quota %" PRIu64
				 ", in use %" PRIu64 ")",
				 name, quota, sc.used);
			free(sc.ext);
			return MEMNET_ENOSPACE;
		}
	}
	struct memnet_slot *s = &w->slots[sc.free_slot];
	char padded[MEMNET_NAME_MAX] = { 0 };
	size_t nl = strlen(name);
	memcpy(padded, name, nl);
	memnet_slot_begin(s);
	memnet_store_rlx(&s->gen, sc.max_gen + 1);
	__atomic_store_n(&s->state, (uint32_t)MEMNET_WRITING, __ATOMIC_RELAXED);
	__atomic_store_n(&s->name_len, (uint32_t)nl, __ATOMIC_RELAXED);
	for (size_t i = 0; i < MEMNET_NAME_MAX / 8; i++) {
		uint64_t word;
		memcpy(&word, padded + 8 * i, 8);
		memnet_store_rlx((uint64_t *)(void *)(s->name + 8 * i), word);
	}
	memnet_store_rlx(&s->data_off, (uint64_t)at);
	memnet_store_rlx(&s->capacity, want);
	memnet_store_rlx(&s->length, 0);
	memnet_store_rlx(&s->mtime_ns, memnet_now_ns());
	__atomic_store_n(&s->writer_pid, (uint32_t)getpid(), __ATOMIC_RELAXED);
	memnet_slot_end(s);
	memnet_touch_table(w);
	p->w = w;
	p->slot = (uint32_t)sc.free_slot;
	p->gen = sc.max_gen + 1;
	p->data_off = (uint64_t)at;
	p->capacity = want;
	p->length = 0;
	str_copy(p->name, name, sizeof(p->name));
	free(sc.ext);
	return 0;
}

static void memnet_sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int memnet_put_begin(struct memnet_writer *w, const char *name, uint64_t reserve_bytes,
		     unsigned wait_ms, struct memnet_put *p, char *err, size_t errlen)
{
	uint64_t reserve = memnet_page_up(reserve_bytes), need = 0;
	unsigned waited = 0;
	bool asked = false;
	char why[200];
	int rc;

	if (memnet_name_check(name, strlen(name), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "object name \"%s\": %s", name, why);
		return -1;
	}
	if (reserve_bytes > w->geom.data_bytes) {
		snprintf(err, errlen,
			 "quota exceeded: \"%s\" needs %" PRIu64
			 " bytes, more than the region's %" PRIu64 "-byte data area",
			 name, reserve_bytes, w->geom.data_bytes);
		return MEMNET_ENOSPACE;
	}
	for (;;) {
		if (memnet_lock(w, err, errlen) < 0)
			return -1;
		rc = memnet_try_begin(w, name, reserve, p, &need, err, errlen);
		if (rc != MEMNET_ENOSPACE || waited >= wait_ms) {
			if (asked && memnet_load_rlx(&w->hdr->need_bytes) == need)
				memnet_store_rel(&w->hdr->need_bytes, 0);
			memnet_unlock(w);
			return rc;
		}
		/* tell the host how much we wait for; it evicts served objects */
		memnet_store_rel(&w->hdr->need_bytes, need);
		asked = true;
		memnet_unlock(w);
		memnet_sleep_ms(MEMNET_WAIT_STEP_MS);
		waited += MEMNET_WAIT_STEP_MS;
	}
}

/* Grow p's extent in place to at least cap bytes (under the lock). */
static int memnet_grow(struct memnet_put *p, uint64_t cap, char *err, size_t errlen)
{
	struct memnet_writer *w = p->w;
	struct memnet_scan sc;
	uint64_t quota = memnet_load_acq(&w->hdr->quota_bytes), limit;
	int rc = MEMNET_ENOSPACE;

	if (quota > w->geom.data_bytes)
		quota = w->geom.data_bytes;
	if (memnet_scan_table(w, &sc, p->slot) < 0) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	/* the next extent after ours bounds the growth, and so does the quota */
	limit = w->geom.data_bytes - p->data_off;
	for (size_t k = 0; k < sc.n_ext; k++)
		if (sc.ext[k].off >= p->data_off && sc.ext[k].off - p->data_off < limit)
			limit = sc.ext[k].off - p->data_off;
	uint64_t others = sc.used - p->capacity;
	uint64_t by_quota = quota > others ? quota - others : 0;
	if (by_quota < limit)
		limit = by_quota;
	limit = limit / MEMNET_PAGE_BYTES * MEMNET_PAGE_BYTES;
	if (limit >= cap) {
		/* double, within what is free */
		uint64_t want = memnet_page_up(cap > 2 * p->capacity ? cap : 2 * p->capacity);
		if (want > limit)
			want = limit;
		struct memnet_slot *s = &w->slots[p->slot];
		memnet_slot_begin(s);
		memnet_store_rlx(&s->capacity, want);
		memnet_slot_end(s);
		memnet_touch_table(w);
		p->capacity = want;
		rc = 0;
	} else {
		snprintf(err, errlen,
			 "quota exceeded: \"%s\" outgrew its %" PRIu64
			 " reserved bytes and cannot grow to %" PRIu64 " (quota %" PRIu64
			 ", in use %" PRIu64 ")",
			 p->name, p->capacity, cap, quota, sc.used);
	}
	free(sc.ext);
	return rc;
}

/* n more bytes of p are in the region: publish the length that covers them
 * (seqlock: release), under the lock. */
static void memnet_publish(struct memnet_put *p, uint64_t n)
{
	struct memnet_slot *s = &p->w->slots[p->slot];

	p->length += n;
	memnet_slot_begin(s);
	memnet_store_rlx(&s->length, p->length);
	memnet_store_rlx(&s->mtime_ns, memnet_now_ns());
	memnet_slot_end(s);
	memnet_touch_table(p->w);
}

int memnet_put_write(struct memnet_put *p, const void *buf, size_t len, char *err, size_t errlen)
{
	struct memnet_writer *w = p->w;
	int rc = 0;

	if (len == 0)
		return 0;
	if (memnet_lock(w, err, errlen) < 0)
		return -1;
	if (p->length + len > p->capacity)
		rc = memnet_grow(p, p->length + len, err, errlen);
	if (rc == 0) {
		/* the bytes first, then the length that covers them */
		memcpy(w->data + p->data_off + p->length, buf, len);
		memnet_publish(p, len);
	}
	memnet_unlock(w);
	return rc;
}

/* Bytes read into the region per read() at most (publishing granularity). */
#define MEMNET_READ_CHUNK (1u << 20)

int memnet_put_from_fd(struct memnet_put *p, int fd, char *err, size_t errlen)
{
	struct memnet_writer *w = p->w;

	for (;;) {
		size_t carried = 0;
		if (p->length == p->capacity) {
			/* full: is there more at all? (an input that fits exactly
			 * must not need room beyond it) */
			char one;
			ssize_t k = read(fd, &one, 1);
			if (k < 0 && errno == EINTR)
				continue;
			if (k < 0) {
				snprintf(err, errlen, "read: %s", strerror(errno));
				return -1;
			}
			if (k == 0)
				return 0;
			int rc;
			if (memnet_lock(w, err, errlen) < 0)
				return -1;
			rc = memnet_grow(p,
					 p->length + (p->capacity > MEMNET_READ_CHUNK / 4
							      ? p->capacity
							      : MEMNET_READ_CHUNK / 4),
					 err, errlen);
			if (rc == MEMNET_ENOSPACE) /* at least one more page? */
				rc = memnet_grow(p, p->length + MEMNET_PAGE_BYTES, err, errlen);
			memnet_unlock(w);
			if (rc != 0)
				return rc;
			w->data[p->data_off + p->length] = one;
			carried = 1;
		}
		uint64_t room = p->capacity - p->length - carried;
		size_t want = room < MEMNET_READ_CHUNK ? (size_t)room : MEMNET_READ_CHUNK;
		ssize_t n;
		do
			n = want ? read(fd, w->data + p->data_off + p->length + carried, want) : 0;
		while (n < 0 && errno == EINTR);
		if (n < 0) {
			snprintf(err, errlen, "read: %s", strerror(errno));
			return -1;
		}
		n += (ssize_t)carried;
		if (n == 0)
			return 0;
		if (memnet_lock(w, err, errlen) < 0)
			return -1;
		memnet_publish(p, (uint64_t)n);
		memnet_unlock(w);
	}
}

int memnet_put_commit(struct memnet_put *p, char *err, size_t errlen)
{
	struct memnet_writer *w = p->w;
	struct memnet_obj o;

	if (memnet_lock(w, err, errlen) < 0)
		return -1;
	struct memnet_slot *s = &w->slots[p->slot];
	memnet_slot_begin(s);
	memnet_store_rlx(&s->length, p->length);
	memnet_store_rlx(&s->capacity, memnet_page_up(p->length));
	__atomic_store_n(&s->state, (uint32_t)MEMNET_COMPLETE, __ATOMIC_RELAXED);
	memnet_store_rlx(&s->mtime_ns, memnet_now_ns());
	memnet_slot_end(s);
	/* the name now means this object: withdraw the older ones */
	for (uint32_t i = 0; i < w->geom.slot_count; i++) {
		if (i == p->slot || !memnet_slot_live(w, i, &o))
			continue;
		if (o.state != MEMNET_REMOVED && o.gen < p->gen && strcmp(o.name, p->name) == 0)
			memnet_set_state(&w->slots[i], MEMNET_REMOVED);
	}
	memnet_touch_table(w);
	memnet_unlock(w);
	return 0;
}

void memnet_put_abort(struct memnet_put *p)
{
	char err[64];

	if (memnet_lock(p->w, err, sizeof(err)) < 0)
		return;
	memnet_set_state(&p->w->slots[p->slot], MEMNET_REMOVED);
	memnet_touch_table(p->w);
	memnet_unlock(p->w);
}

int memnet_put_buf(struct memnet_writer *w, const char *name, const void *buf, size_t len,
		   unsigned wait_ms, char *err, size_t errlen)
{
	struct memnet_put p;
	int rc = memnet_put_begin(w, name, len, wait_ms, &p, err, errlen);

	if (rc != 0)
		return rc;
	rc = memnet_put_write(&p, buf, len, err, errlen);
	if (rc != 0) {
		memnet_put_abort(&p);
		return rc;
	}
	return memnet_put_commit(&p, err, errlen);
}

int memnet_rm(struct memnet_writer *w, const char *name, char *err, size_t errlen)
{
	struct memnet_obj o;
	int n = 0;

	if (memnet_lock(w, err, errlen) < 0)
		return -1;
	for (uint32_t i = 0; i < w->geom.slot_count; i++) {
		if (!memnet_slot_live(w, i, &o) || o.state == MEMNET_REMOVED ||
		    strcmp(o.name, name) != 0)
			continue;
		memnet_set_state(&w->slots[i], MEMNET_REMOVED);
		n++;
	}
	if (n)
		memnet_touch_table(w);
	memnet_unlock(w);
	return n;
}

int memnet_job_done(struct memnet_writer *w, uint64_t service_us, uint64_t response_us,
		    uint64_t bytes, char *err, size_t errlen)
{
	struct memnet_header *h = w->hdr;

	if (memnet_lock(w, err, errlen) < 0)
		return -1;
	memnet_store_rlx(&h->job_service_us_sum,
			 memnet_load_rlx(&h->job_service_us_sum) + service_us);
	memnet_store_rlx(&h->job_response_us_sum,
			 memnet_load_rlx(&h->job_response_us_sum) + response_us);
	memnet_store_rlx(&h->job_bytes_sum, memnet_load_rlx(&h->job_bytes_sum) + bytes);
	/* the count last: a reader that sees it sees the sums it covers */
	memnet_store_rel(&h->jobs_done, memnet_load_rlx(&h->jobs_done) + 1);
	memnet_unlock(w);
	return 0;
}

int memnet_list(struct memnet_writer *w, struct memnet_obj **objs, size_t *n,
		struct memnet_usage *u, char *err, size_t errlen)
{
	struct memnet_obj o;

	*objs = malloc(sizeof(**objs) * w->geom.slot_count);
	*n = 0;
	if (!*objs) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	memset(u, 0, sizeof(*u));
	if (memnet_lock(w, err, errlen) < 0) {
		free(*objs);
		*objs = NULL;
		return -1;
	}
	for (uint32_t i = 0; i < w->geom.slot_count; i++) {
		if (!memnet_slot_live(w, i, &o))
			continue;
		u->used_bytes += o.capacity;
		u->slots_used++;
		(*objs)[(*n)++] = o;
	}
	memnet_unlock(w);
	u->data_bytes = w->geom.data_bytes;
	u->quota_bytes = memnet_load_acq(&w->hdr->quota_bytes);
	u->slots = w->geom.slot_count;
	return 0;
}
