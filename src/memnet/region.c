/* region.c - create a MemNet region file (sparse, header last) and map regions shared. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "memnet/region.h"

int memnet_region_create(const char *path, const struct memnet_create_opts *opts, bool *usage_error,
			 char *err, size_t errlen)
{
	struct memnet_header h;
	uint32_t slots = opts->slots ? opts->slots : memnet_default_slots(opts->bytes);
	int fd;

	*usage_error = false;
	if (opts->bytes == 0 || (opts->bytes & (opts->bytes - 1))) {
		snprintf(err, errlen,
			 "size %" PRIu64 " bytes is not a power of two (QEMU's ivshmem-plain needs "
			 "one)",
			 opts->bytes);
		*usage_error = true;
		return -1;
	}
	if (memnet_geom_init(&h, opts->bytes, slots, err, errlen) < 0) {
		*usage_error = true;
		return -1;
	}
	if (opts->quota_bytes) {
		if (opts->quota_bytes > h.data_bytes) {
			snprintf(err, errlen,
				 "quota %" PRIu64 " bytes is more than the %" PRIu64
				 "-byte data area",
				 opts->quota_bytes, h.data_bytes);
			*usage_error = true;
			return -1;
		}
		h.quota_bytes = opts->quota_bytes;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | (opts->force ? 0 : O_EXCL),
		  opts->mode ? opts->mode : 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s%s", path, strerror(errno),
			 errno == EEXIST ? " (--force re-initialises it)" : "");
		return -1;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		close(fd);
		return -1;
	}
	/* an existing file: drop its contents (every slot FREE again), then size it */
	if (ftruncate(fd, 0) < 0 || ftruncate(fd, (off_t)opts->bytes) < 0) {
		snprintf(err, errlen, "%s: cannot size it to %" PRIu64 " bytes: %s", path,
			 opts->bytes, strerror(errno));
		close(fd);
		return -1;
	}
	void *base = mmap(NULL, MEMNET_HEADER_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	/* everything but the magic first, so a reader never sees a half header as valid */
	struct memnet_header *sh = base;
	uint64_t magic = h.magic;
	h.magic = 0;
	memcpy(sh, &h, sizeof(h));
	memnet_store_rel(&sh->magic, magic);
	munmap(base, MEMNET_HEADER_BYTES);
	if (fsync(fd) < 0 && errno != EINVAL) {
		snprintf(err, errlen, "%s: fsync: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

int memnet_region_map_fd(struct memnet_region *r, int fd, const char *name, char *err,
			 size_t errlen)
{
	struct stat st;

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	str_copy(r->path, name, sizeof(r->path));
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: %s", name, strerror(errno));
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", name);
		close(fd);
		return -1;
	}
	if ((uint64_t)st.st_size < MEMNET_REGION_MIN_BYTES ||
	    (uint64_t)st.st_size > MEMNET_REGION_MAX_BYTES) {
		snprintf(err, errlen,
			 "%s: %lld bytes: a region has %u to %" PRIu64
			 " bytes (vspace memnet create makes one)",
			 name, (long long)st.st_size, MEMNET_REGION_MIN_BYTES,
			 MEMNET_REGION_MAX_BYTES);
		close(fd);
		return -1;
	}
	void *base = mmap(NULL, (size_t)st.st_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (base == MAP_FAILED) {
		snprintf(err, errlen, "%s: mmap of %lld bytes: %s", name, (long long)st.st_size,
			 strerror(errno));
		close(fd);
		return -1;
	}
	r->fd = fd;
	r->base = base;
	r->bytes = (uint64_t)st.st_size;
	r->dev = st.st_dev;
	r->ino = st.st_ino;
	return 0;
}

int memnet_region_map(struct memnet_region *r, const char *path, char *err, size_t errlen)
{
	int fd = open(path, O_RDWR | O_CLOEXEC);

	if (fd < 0) {
		memset(r, 0, sizeof(*r));
		r->fd = -1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	return memnet_region_map_fd(r, fd, path, err, errlen);
}

void memnet_region_unmap(struct memnet_region *r)
{
	if (r->base)
		munmap(r->base, (size_t)r->bytes);
	if (r->fd >= 0)
		close(r->fd);
	r->base = NULL;
	r->fd = -1;
}

bool memnet_region_same(const struct memnet_region *r, char *why, size_t whylen)
{
	struct stat st;

	if (fstat(r->fd, &st) < 0) {
		snprintf(why, whylen, "fstat: %s", strerror(errno));
		return false;
	}
	if ((uint64_t)st.st_size != r->bytes) {
		snprintf(why, whylen, "the file's size changed from %" PRIu64 " to %lld bytes",
			 r->bytes, (long long)st.st_size);
		return false;
	}
	/* a path that now names another file: the VM's region was re-created */
	if (stat(r->path, &st) == 0 && (st.st_dev != r->dev || st.st_ino != r->ino)) {
		snprintf(why, whylen, "%s now names another file", r->path);
		return false;
	}
	return true;
}
