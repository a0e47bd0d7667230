/* region.h - create a MemNet region file, map one (host file, memfd, or the guest's ivshmem BAR). */
#ifndef VS_MEMNET_REGION_H
#define VS_MEMNET_REGION_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "memnet/layout.h"

/* A mapped region: the whole file, shared, read-write (both sides write
 * their own fields). */
struct memnet_region {
	int fd;
	void *base;
	uint64_t bytes; /* the size mapped (the file's size when mapped) */
	dev_t dev;	/* the file's identity when mapped */
	ino_t ino;
	char path[PATH_MAX];
};

/* Options of memnet_region_create. */
struct memnet_create_opts {
	uint64_t bytes;	      /* region size: a power of two (QEMU's ivshmem-plain aborts
				on any other BAR size) */
	uint32_t slots;	      /* 0: memnet_default_slots(bytes) */
	uint64_t quota_bytes; /* 0: the whole data area */
	bool force;	      /* re-initialise an existing file (its objects are lost) */
	unsigned mode;	      /* file mode for a new file (e.g. 0600) */
};

/* Create path as a fresh region: a sparse file of opts->bytes (pages are
 * only allocated as the guest writes them), the header written last-magic.
 * Refuses an existing file unless opts->force. Returns 0, or -1 with err set
 * (2 in *usage_error when the options themselves were wrong). */
int memnet_region_create(const char *path, const struct memnet_create_opts *opts, bool *usage_error,
			 char *err, size_t errlen);
/* Map path (a region file, or a sysfs PCI resource file) read-write, shared.
 * Returns 0, or -1 with err set. The geometry is not checked here. */
int memnet_region_map(struct memnet_region *r, const char *path, char *err, size_t errlen);
/* Map an already open fd (a memfd); name is for messages. The fd is owned
 * by the region afterwards. */
int memnet_region_map_fd(struct memnet_region *r, int fd, const char *name, char *err,
			 size_t errlen);
void memnet_region_unmap(struct memnet_region *r);
/* True when the file behind r still has the size and identity it had when
 * mapped (fstat of the fd, stat of the path). *why says what changed. */
bool memnet_region_same(const struct memnet_region *r, char *why, size_t whylen);

static inline struct memnet_header *memnet_region_header(const struct memnet_region *r)
{
	return (struct memnet_header *)r->base;
}

#endif
