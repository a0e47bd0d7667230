/* writer.h - the guest's processing-module API: put finished objects into the region within the quota, list, remove, count jobs. */
#ifndef VS_MEMNET_WRITER_H
#define VS_MEMNET_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "memnet/layout.h"
#include "memnet/region.h"

/*
 * The writer is the guest side of src/memnet/layout.h. Each call that
 * changes the table takes flock(LOCK_EX) on the region file, so several
 * processes in one guest may write at once; the host never takes that lock.
 * Under the lock the writer also cleans up after writers that died: a slot
 * left mid-update (odd seq) is closed, a WRITING object whose process is gone
 * is removed, a slot whose contents do not check is cleared.
 *
 *   struct memnet_writer w;
 *   memnet_writer_open(&w, "/dev/shm/vm1.memnet", err, sizeof err);  (or the
 *       fd from memnet_pci_open() in a guest)
 *   memnet_put_buf(&w, "result-1.xz", buf, len, 0, err, sizeof err);
 *   memnet_job_done(&w, service_us, response_us, len);
 *   memnet_writer_close(&w);
 *
 * Streaming an object whose size is not known yet:
 *   struct memnet_put p;
 *   memnet_put_begin(&w, "live.ts", 0, 0, &p, err, sizeof err);
 *   while (...) memnet_put_write(&p, chunk, n, err, sizeof err); // published as written
 *   memnet_put_commit(&p, err, sizeof err);                      // or memnet_put_abort(&p)
 */

/* Return value of the calls below when the quota (or the table, or a
 * contiguous extent) has no room: err says which and how much. */
#define MEMNET_ENOSPACE (-3)

struct memnet_writer {
	struct memnet_region reg;
	struct memnet_geom geom;
	struct memnet_header *hdr;
	struct memnet_slot *slots;
	char *data;	   /* the data area's first byte */
	unsigned repaired; /* slots cleaned up (see above), for messages */
};

/* A put in progress. */
struct memnet_put {
	struct memnet_writer *w;
	uint32_t slot;
	uint64_t gen;
	uint64_t data_off, capacity, length;
	char name[MEMNET_NAME_MAX + 1];
};

/* The region's state as the guest sees it (memnet_list). */
struct memnet_usage {
	uint64_t data_bytes;  /* the data area */
	uint64_t quota_bytes; /* the host's quota */
	uint64_t used_bytes;  /* reserved by objects the host has not released */
	uint32_t slots, slots_used;
};

/* Open a region file (host processes, tests) or a sysfs resource2 file. */
int memnet_writer_open(struct memnet_writer *w, const char *path, char *err, size_t errlen);
/* Use an fd already open read-write (memnet_pci_open); name is for messages. */
int memnet_writer_open_fd(struct memnet_writer *w, int fd, const char *name, char *err,
			  size_t errlen);
void memnet_writer_close(struct memnet_writer *w);

/* In a guest: find the ivshmem device (PCI 1af4:1110; bdf NULL = the only
 * one, else e.g. "0000:00:04.0"), enable it if needed, and open its BAR 2
 * (devices/<bdf>/resource2) read-write. Every path goes through sysroot
 * ("/" in a guest, a fixture tree in tests). Returns the fd, or -1 with err
 * set; name receives the path for messages. */
int memnet_pci_open(const char *sysroot, const char *bdf, char *name, size_t namelen, char *err,
		    size_t errlen);

/* Reserve an extent and a slot for object `name`: reserve_bytes (rounded up
 * to a page) when the size is known, or 0 for "as much as the largest free
 * extent within the quota" (the rest is given back at commit). When there is
 * no room, wait up to wait_ms for the host to evict served objects (the
 * header's need_bytes tells it how much), then give up with MEMNET_ENOSPACE.
 * Returns 0 (the object is WRITING, length 0), MEMNET_ENOSPACE or -1. */
int memnet_put_begin(struct memnet_writer *w, const char *name, uint64_t reserve_bytes,
		     unsigned wait_ms, struct memnet_put *p, char *err, size_t errlen);
/* Append len bytes and publish them (the host may already be streaming
 * them). Past the reservation the extent grows in place when the bytes after
 * it are free and the quota allows; else MEMNET_ENOSPACE (the put stays
 * open: abort it). */
int memnet_put_write(struct memnet_put *p, const void *buf, size_t len, char *err, size_t errlen);
/* Read fd to its end straight into the object's extent (no buffer in
 * between), publishing after every read; grows like memnet_put_write. The
 * lock is never held while reading. */
int memnet_put_from_fd(struct memnet_put *p, int fd, char *err, size_t errlen);
/* Finish: COMPLETE with its final length, unused reservation given back,
 * older objects of the same name removed (the name now serves the new one). */
int memnet_put_commit(struct memnet_put *p, char *err, size_t errlen);
/* Give up: the object is REMOVED (the host releases it). */
void memnet_put_abort(struct memnet_put *p);
/* begin + write + commit of a buffer. */
int memnet_put_buf(struct memnet_writer *w, const char *name, const void *buf, size_t len,
		   unsigned wait_ms, char *err, size_t errlen);

/* Withdraw every live object named name. Returns the number removed (0: not
 * found) or -1. */
int memnet_rm(struct memnet_writer *w, const char *name, char *err, size_t errlen);
/* Add one finished job to the header's counters (what the host's sizing
 * controller reads): its service time, its response time (arrival to result
 * written) and its result's size. */
int memnet_job_done(struct memnet_writer *w, uint64_t service_us, uint64_t response_us,
		    uint64_t bytes, char *err, size_t errlen);
/* The objects (every slot not FREE and not released, in slot order) into
 * *objs (malloc'd, *n of them; free() it), and the usage. Returns 0 or -1. */
int memnet_list(struct memnet_writer *w, struct memnet_obj **objs, size_t *n,
		struct memnet_usage *u, char *err, size_t errlen);

#endif
