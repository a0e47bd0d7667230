/* vfpool.c - a PF's SR-IOV virtual functions from sysfs: count, PCI address, driver, host netdev, MAC. */
#include "platform/linux/vfpool.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/strutil.h"
#include "platform/linux/sysroot.h"

int vfpool_parse_pci(const char *text, unsigned *domain, unsigned *bus, unsigned *dev, unsigned *fn)
{
	/* exactly 4 hex, ':', 2 hex, ':', 2 hex, '.', 1 digit */
	static const char shape[] = "xxxx:xx:xx.d";
	unsigned v[4] = { 0 };
	int k = 0;

	if (strlen(text) != sizeof(shape) - 1)
		return -1;
	for (size_t i = 0; shape[i]; i++) {
		char ch = text[i];
		if (shape[i] == 'x' || shape[i] == 'd') {
			int d;
			if (ch >= '0' && ch <= '9')
				d = ch - '0';
			else if (shape[i] == 'x' && ch >= 'a' && ch <= 'f')
				d = ch - 'a' + 10;
			else
				return -1;
			v[k] = v[k] * 16 + (unsigned)d;
		} else if (ch != shape[i]) {
			return -1;
		} else {
			k++;
		}
	}
	if (v[2] > 0x1f || v[3] > 7)
		return -1;
	*domain = v[0];
	*bus = v[1];
	*dev = v[2];
	*fn = v[3];
	return 0;
}

int vfpool_parse_mac(const char *text, char out[18])
{
	if (strlen(text) != 17)
		return -1;
	for (int i = 0; i < 17; i++) {
		char ch = text[i];
		if (i % 3 == 2) {
			if (ch != ':')
				return -1;
			out[i] = ':';
		} else if (isxdigit((unsigned char)ch)) {
			out[i] = (char)tolower((unsigned char)ch);
		} else {
			return -1;
		}
	}
	out[17] = '\0';
	return 0;
}

const char *vfpool_binding_name(enum vfpool_binding b)
{
	switch (b) {
	case VFPOOL_UNBOUND:
		return "unbound";
	case VFPOOL_HOST:
		return "host";
	case VFPOOL_VFIO:
		return "vfio";
	case VFPOOL_OTHER:
		return "other";
	}
	return "?";
}

/* The last component of the link dirfd/path ("../0000:3b:02.1" -> "0000:3b:02.1"),
 * into out. Returns 0, -1 with errno (ENOENT: no link; EINVAL: too long). */
static int vfpool_link_base(int dirfd, const char *path, char *out, size_t len)
{
	char buf[512];
	ssize_t n = readlinkat(dirfd, path, buf, sizeof(buf) - 1);
	const char *base;

	if (n < 0)
		return -1;
	if ((size_t)n >= sizeof(buf) - 1) {
		errno = EINVAL;
		return -1;
	}
	buf[n] = '\0';
	base = strrchr(buf, '/');
	base = base ? base + 1 : buf;
	if (!*base || strlen(base) >= len) {
		errno = EINVAL;
		return -1;
	}
	str_copy(out, base, len);
	return 0;
}

static int vfpool_cmp(const void *a, const void *b)
{
	return ((const struct vfpool_vf *)a)->index - ((const struct vfpool_vf *)b)->index;
}

/* The VF's host netdev (the one directory under <vf>/net/), its MAC and flags. */
static void vfpool_netdev(int dev_fd, struct vfpool_vf *vf)
{
	char path[128], buf[64];
	DIR *d = sysroot_opendir(dev_fd, "net");
	struct dirent *de;
	long flags;

	if (!d)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.' || strlen(de->d_name) >= sizeof(vf->netdev))
			continue;
		str_copy(vf->netdev, de->d_name, sizeof(vf->netdev));
		break;
	}
	closedir(d);
	if (!vf->netdev[0])
		return;
	if (sysroot_path(path, sizeof(path), "net/%s/address", vf->netdev) &&
	    sysroot_read(dev_fd, path, buf, sizeof(buf)) > 0 &&
	    vfpool_parse_mac(str_trim(buf), vf->mac) < 0)
		vf->mac[0] = '\0';
	if (sysroot_path(path, sizeof(path), "net/%s/flags", vf->netdev) &&
	    sysroot_read(dev_fd, path, buf, sizeof(buf)) > 0) {
		char *end;
		errno = 0;
		flags = strtol(str_trim(buf), &end, 16);
		if (errno == 0 && *end == '\0' && end != buf)
			vf->host_up = (flags & 0x1) != 0;
	}
}

int vfpool_read(int sys_fd, const char *pf, struct vfpool *out, char *err, size_t errlen)
{
	char path[160], name[64];
	unsigned u[4];
	long v;
	int dev_fd;
	DIR *d;
	struct dirent *de;

	memset(out, 0, sizeof(*out));
	if (!pf[0] || strlen(pf) >= sizeof(out->pf) || strchr(pf, '/') || pf[0] == '.') {
		snprintf(err, errlen, "PF \"%.40s\": not an interface name", pf);
		return -1;
	}
	str_copy(out->pf, pf, sizeof(out->pf));
	if (!sysroot_path(path, sizeof(path), "class/net/%s", pf))
		return -1;
	if (faccessat(sys_fd, path, F_OK, 0) < 0) {
		snprintf(err, errlen, "PF %s: no such network interface (class/net/%s)", pf, pf);
		return -1;
	}
	sysroot_path(path, sizeof(path), "class/net/%s/device", pf);
	if (vfpool_link_base(sys_fd, path, out->pf_pci, sizeof(out->pf_pci)) < 0 ||
	    vfpool_parse_pci(out->pf_pci, &u[0], &u[1], &u[2], &u[3]) < 0) {
		snprintf(err, errlen, "PF %s: not a PCI device (class/net/%s/device)", pf, pf);
		return -1;
	}
	dev_fd = openat(sys_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dev_fd < 0) {
		snprintf(err, errlen, "PF %s: %s: %s", pf, path, strerror(errno));
		return -1;
	}
	if (sysroot_read_long(dev_fd, "sriov_totalvfs", &v) < 0 || v < 0 || v > 65535) {
		snprintf(err, errlen, "PF %s (%s): no SR-IOV (sriov_totalvfs %s)", pf, out->pf_pci,
			 errno == ENOENT ? "missing" : "unreadable or malformed");
		close(dev_fd);
		return -1;
	}
	out->total_vfs = (int)v;
	if (sysroot_read_long(dev_fd, "sriov_numvfs", &v) < 0 || v < 0 || v > out->total_vfs) {
		snprintf(err, errlen,
			 "PF %s (%s): sriov_numvfs missing, malformed or above "
			 "sriov_totalvfs (%d)",
			 pf, out->pf_pci, out->total_vfs);
		close(dev_fd);
		return -1;
	}
	out->num_vfs = (int)v;
	d = sysroot_opendir(dev_fd, ".");
	if (!d) {
		snprintf(err, errlen, "PF %s: %s: %s", pf, path, strerror(errno));
		close(dev_fd);
		return -1;
	}
	while ((de = readdir(d)) != NULL) {
		struct vfpool_vf *vf;
		char *end;
		long idx;
		int vf_fd;

		if (strncmp(de->d_name, "virtfn", 6) != 0)
			continue;
		errno = 0;
		idx = strtol(de->d_name + 6, &end, 10);
		if (errno || *end || end == de->d_name + 6 || idx < 0 || idx >= VFPOOL_MAX)
			continue;
		if (out->n >= VFPOOL_MAX)
			break;
		vf = &out->vf[out->n];
		memset(vf, 0, sizeof(*vf));
		vf->index = (int)idx;
		vf->iommu_group = -1;
		if (vfpool_link_base(dev_fd, de->d_name, vf->pci, sizeof(vf->pci)) < 0 ||
		    vfpool_parse_pci(vf->pci, &u[0], &u[1], &u[2], &u[3]) < 0) {
			snprintf(err, errlen, "PF %s: %s does not link to a PCI address", pf,
				 de->d_name);
			closedir(d);
			close(dev_fd);
			return -1;
		}
		vf_fd = openat(dev_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (vf_fd < 0)
			continue; /* a VF going away while we read */
		if (vfpool_link_base(vf_fd, "driver", vf->driver, sizeof(vf->driver)) < 0)
			vf->driver[0] = '\0';
		if (!vf->driver[0])
			vf->binding = VFPOOL_UNBOUND;
		else if (strcmp(vf->driver, "vfio-pci") == 0)
			vf->binding = VFPOOL_VFIO;
		else if (strcmp(vf->driver, "pci-stub") == 0)
			vf->binding = VFPOOL_OTHER;
		else
			vf->binding = VFPOOL_HOST;
		if (vfpool_link_base(vf_fd, "iommu_group", name, sizeof(name)) == 0 &&
		    str_to_long(name, 0, 1L << 30, &v) == 0)
			vf->iommu_group = (int)v;
		vfpool_netdev(vf_fd, vf);
		if (vf->netdev[0] && vf->binding == VFPOOL_OTHER)
			vf->binding = VFPOOL_HOST;
		close(vf_fd);
		out->n++;
	}
	closedir(d);
	close(dev_fd);
	qsort(out->vf, (size_t)out->n, sizeof(out->vf[0]), vfpool_cmp);
	return out->n;
}

const struct vfpool_vf *vfpool_find(const struct vfpool *p, const char *pci)
{
	for (int i = 0; i < p->n; i++)
		if (strcmp(p->vf[i].pci, pci) == 0)
			return &p->vf[i];
	return NULL;
}
