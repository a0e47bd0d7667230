/* sdbus.h - systemd's unit manager over D-Bus (libsystemd's sd-bus): unit properties and AllowedCPUs= for the Linux platform's unit hook. */
#ifndef VS_DAEMON_SDBUS_H
#define VS_DAEMON_SDBUS_H

#include <stddef.h>
#include <stdint.h>

#include "lib/cpuset.h"
#include "platform/linux/units.h"

/* Per-call limit: an unanswered call gives -ETIMEDOUT after this long. */
#define SDBUS_TIMEOUT_US 1000000

/* Connect to systemd (org.freedesktop.systemd1): on the system bus when
 * address is NULL, else at a D-Bus address ("unix:path=..."; tests). No
 * method is called yet. Returns 0 and *out, or -errno with err set. */
int sdbus_units_open(struct vs_unit_mgr **out, const char *address, uint64_t timeout_us, char *err,
		     size_t errlen);

/* The interface that holds a unit's cgroup properties, by its type
 * ("web.service" -> "org.freedesktop.systemd1.Service"); NULL for a type
 * without a cgroup (or no type). */
const char *sdbus_unit_interface(const char *unit);

/* AllowedCPUs= as systemd sends it: a bit mask, byte i bit j = cpu 8*i+j.
 * Bits past VS_MAX_CPUS make it -ERANGE (this build cannot hold them). */
int sdbus_mask_to_cpuset(const uint8_t *mask, size_t n, struct vs_cpuset *out);
/* And back: the shortest mask holding cpus (n = 0 for the empty set) into
 * buf (len bytes). Returns n, or -ENOSPC. */
int sdbus_cpuset_to_mask(const struct vs_cpuset *cpus, uint8_t *buf, size_t len);

#endif
