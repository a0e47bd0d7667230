/* sdbus.c - systemd's unit manager over D-Bus (sd-bus): a unit's Delegate=, ControlGroup= and AllowedCPUs=, and SetUnitProperties(AllowedCPUs=, runtime) for the Linux platform. */
#include "daemon/sdbus.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-bus.h>
#include <time.h>

#include "lib/log.h"
#include "lib/strutil.h"

/* org.freedesktop.systemd1(5): the manager object and its interface. */
#define SD_DEST	   "org.freedesktop.systemd1"
#define SD_PATH	   "/org/freedesktop/systemd1"
#define SD_MANAGER "org.freedesktop.systemd1.Manager"
/* systemd's own socket for direct (peer-to-peer) connections of root, what
 * systemctl uses when there is no system bus (dbus-daemon) */
#define SD_PRIVATE "unix:path=/run/systemd/private"

struct sdbus_units {
	struct vs_unit_mgr base;
	sd_bus *bus;
	char address[128]; /* "" the system bus (else its private socket) */
	uint64_t timeout_us;
};

const char *sdbus_unit_interface(const char *unit)
{
	static const struct {
		const char *suffix, *iface;
	} types[] = {
		{ ".service", "org.freedesktop.systemd1.Service" },
		{ ".scope", "org.freedesktop.systemd1.Scope" },
		{ ".slice", "org.freedesktop.systemd1.Slice" },
		{ ".socket", "org.freedesktop.systemd1.Socket" },
		{ ".mount", "org.freedesktop.systemd1.Mount" },
		{ ".swap", "org.freedesktop.systemd1.Swap" },
	};
	size_t n = strlen(unit);

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t k = strlen(types[i].suffix);
		if (n > k && strcmp(unit + n - k, types[i].suffix) == 0)
			return types[i].iface;
	}
	return NULL;
}

int sdbus_mask_to_cpuset(const uint8_t *mask, size_t n, struct vs_cpuset *out)
{
	cpuset_zero(out);
	for (size_t i = 0; i < n; i++)
		for (int b = 0; b < 8; b++) {
			size_t cpu = i * 8 + (size_t)b;
			if (!(mask[i] & (1u << b)))
				continue;
			if (cpu >= VS_MAX_CPUS)
				return -ERANGE;
			cpuset_set(out, (int)cpu);
		}
	return 0;
}

int sdbus_cpuset_to_mask(const struct vs_cpuset *cpus, uint8_t *buf, size_t len)
{
	int last = cpuset_last(cpus);
	size_t n = last < 0 ? 0 : (size_t)last / 8 + 1;

	if (n > len)
		return -ENOSPC;
	memset(buf, 0, n);
	for (int c = cpuset_next(cpus, 0); c >= 0; c = cpuset_next(cpus, c + 1))
		buf[c / 8] |= (uint8_t)(1u << (c % 8));
	return (int)n;
}

/* -errno for a failed call: the unit is unknown, no answer, refused, ... */
static int sdbus_errno(int r, const sd_bus_error *e)
{
	if (sd_bus_error_has_name(e, "org.freedesktop.systemd1.NoSuchUnit") ||
	    sd_bus_error_has_name(e, "org.freedesktop.systemd1.LoadFailed"))
		return -ENOENT;
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED))
		return -EACCES;
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_NO_REPLY) || r == -ETIMEDOUT)
		return -ETIMEDOUT;
	if (sd_bus_error_has_name(e, SD_BUS_ERROR_SERVICE_UNKNOWN) ||
	    sd_bus_error_has_name(e, SD_BUS_ERROR_DISCONNECTED) || r == -ENOTCONN ||
	    r == -ECONNRESET)
		return -ENOTCONN;
	return r < 0 ? r : -EIO;
}

static void sdbus_say(char *err, size_t errlen, const char *unit, const char *what, int r,
		      const sd_bus_error *e)
{
	snprintf(err, errlen, "systemd: %s %s: %s", what, unit,
		 e && e->message ? e->message : strerror(r < 0 ? -r : EIO));
}

static uint64_t sdbus_now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* Wait, at most timeout_us, until the connection is authenticated (and,
 * on a bus, said Hello): sd-bus itself would wait 90 s for a silent peer. */
static int sdbus_wait_ready(sd_bus *bus, uint64_t timeout_us)
{
	uint64_t end = sdbus_now_us() + timeout_us;

	for (;;) {
		uint64_t now;
		int r = sd_bus_is_ready(bus);
		if (r != 0)
			return r < 0 ? r : 0;
		r = sd_bus_process(bus, NULL);
		if (r < 0)
			return r;
		if (r > 0)
			continue;
		now = sdbus_now_us();
		if (now >= end)
			return -ETIMEDOUT;
		r = sd_bus_wait(bus, end - now);
		if (r < 0)
			return r;
	}
}

/* (Re)connect when there is no open connection. */
static int sdbus_connect(struct sdbus_units *s, char *err, size_t errlen)
{
	sd_bus *bus = NULL;
	int r;

	if (s->bus && sd_bus_is_open(s->bus) > 0)
		return 0;
	s->bus = sd_bus_close_unref(s->bus);
	if (!s->address[0]) {
		r = sd_bus_open_system(&bus);
		if (r < 0) {
			/* no dbus-daemon: systemd's own socket, as systemctl does */
			r = sd_bus_new(&bus);
			if (r >= 0)
				r = sd_bus_set_address(bus, SD_PRIVATE);
			if (r >= 0)
				r = sd_bus_start(bus);
		}
	} else {
		r = sd_bus_new(&bus);
		if (r >= 0)
			r = sd_bus_set_address(bus, s->address);
		if (r >= 0)
			r = sd_bus_start(bus);
	}
	if (r >= 0)
		r = sdbus_wait_ready(bus, s->timeout_us);
	if (r < 0) {
		sd_bus_close_unref(bus);
		snprintf(err, errlen, "cannot connect to systemd (%s): %s",
			 s->address[0] ? s->address : "system bus, " SD_PRIVATE, strerror(-r));
		return r;
	}
	sd_bus_set_method_call_timeout(bus, s->timeout_us);
	s->bus = bus;
	return 0;
}

/* The unit's object path (it must be loaded). */
static int sdbus_unit_path(struct sdbus_units *s, const char *unit, char *path, size_t len,
			   char *err, size_t errlen)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	const char *p = NULL;
	int r;

	r = sd_bus_call_method(s->bus, SD_DEST, SD_PATH, SD_MANAGER, "GetUnit", &e, &reply, "s",
			       unit);
	if (r >= 0)
		r = sd_bus_message_read(reply, "o", &p);
	if (r < 0 || !p) {
		int rc = sdbus_errno(r, &e);
		sdbus_say(err, errlen, unit, "GetUnit", r, &e);
		sd_bus_error_free(&e);
		sd_bus_message_unref(reply);
		return rc;
	}
	str_copy(path, p, len);
	sd_bus_message_unref(reply);
	return 0;
}

static int sdbus_get(struct vs_unit_mgr *m, const char *unit, struct vs_unit_info *out, char *err,
		     size_t errlen)
{
	struct sdbus_units *s = (struct sdbus_units *)m;
	const char *iface = sdbus_unit_interface(unit);
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *reply = NULL;
	char path[512], *cg = NULL;
	const void *mask = NULL;
	size_t n = 0;
	int r, delegate = 0;

	memset(out, 0, sizeof(*out));
	if (!iface) {
		snprintf(err, errlen, "systemd: %s is not a unit with a cgroup", unit);
		return -EINVAL;
	}
	r = sdbus_connect(s, err, errlen);
	if (r < 0)
		return r == -ETIMEDOUT ? r : -ENOTCONN;
	r = sdbus_unit_path(s, unit, path, sizeof(path), err, errlen);
	if (r < 0)
		return r;
	r = sd_bus_get_property_trivial(s->bus, SD_DEST, path, iface, "Delegate", &e, 'b',
					&delegate);
	if (r >= 0)
		r = sd_bus_get_property_string(s->bus, SD_DEST, path, iface, "ControlGroup", &e,
					       &cg);
	if (r >= 0)
		r = sd_bus_get_property(s->bus, SD_DEST, path, iface, "AllowedCPUs", &e, &reply,
					"ay");
	if (r >= 0)
		r = sd_bus_message_read_array(reply, 'y', &mask, &n);
	if (r < 0) {
		int rc = sdbus_errno(r, &e);
		sdbus_say(err, errlen, unit, "reading the properties of", r, &e);
		sd_bus_error_free(&e);
		sd_bus_message_unref(reply);
		free(cg);
		return rc;
	}
	out->delegate = delegate != 0;
	str_copy(out->cgroup, cg ? cg : "", sizeof(out->cgroup));
	free(cg);
	r = sdbus_mask_to_cpuset(mask, n, &out->allowed);
	sd_bus_message_unref(reply);
	if (r < 0) {
		snprintf(err, errlen, "systemd: %s: AllowedCPUs= names cpus past %d", unit,
			 VS_MAX_CPUS - 1);
		return r;
	}
	return 0;
}

static int sdbus_set_allowed(struct vs_unit_mgr *m, const char *unit, const struct vs_cpuset *cpus,
			     char *err, size_t errlen)
{
	struct sdbus_units *s = (struct sdbus_units *)m;
	sd_bus_error e = SD_BUS_ERROR_NULL;
	sd_bus_message *msg = NULL;
	uint8_t mask[VS_MAX_CPUS / 8];
	int n = sdbus_cpuset_to_mask(cpus, mask, sizeof(mask)), r;

	if (n < 0) {
		snprintf(err, errlen, "systemd: %s: too many cpus", unit);
		return n;
	}
	r = sdbus_connect(s, err, errlen);
	if (r < 0)
		return r == -ETIMEDOUT ? r : -ENOTCONN;
	/* SetUnitProperties(s name, b runtime, a(sv) properties) */
	r = sd_bus_message_new_method_call(s->bus, &msg, SD_DEST, SD_PATH, SD_MANAGER,
					   "SetUnitProperties");
	if (r >= 0)
		r = sd_bus_message_append(msg, "sb", unit, 1);
	if (r >= 0)
		r = sd_bus_message_open_container(msg, 'a', "(sv)");
	if (r >= 0)
		r = sd_bus_message_open_container(msg, 'r', "sv");
	if (r >= 0)
		r = sd_bus_message_append(msg, "s", "AllowedCPUs");
	if (r >= 0)
		r = sd_bus_message_open_container(msg, 'v', "ay");
	if (r >= 0)
		r = sd_bus_message_append_array(msg, 'y', mask, (size_t)n);
	for (int k = 0; k < 3 && r >= 0; k++)
		r = sd_bus_message_close_container(msg);
	if (r >= 0)
		r = sd_bus_call(s->bus, msg, 0, &e, NULL);
	sd_bus_message_unref(msg);
	if (r < 0) {
		int rc = sdbus_errno(r, &e);
		sdbus_say(err, errlen, unit, "SetUnitProperties AllowedCPUs= of", r, &e);
		sd_bus_error_free(&e);
		return rc;
	}
	return 0;
}

static void sdbus_close(struct vs_unit_mgr *m)
{
	struct sdbus_units *s = (struct sdbus_units *)m;

	if (!s)
		return;
	sd_bus_close_unref(s->bus);
	free(s);
}

static const struct vs_unit_mgr_ops sdbus_ops = {
	.name = "systemd",
	.get = sdbus_get,
	.set_allowed_cpus = sdbus_set_allowed,
	.close = sdbus_close,
};

int sdbus_units_open(struct vs_unit_mgr **out, const char *address, uint64_t timeout_us, char *err,
		     size_t errlen)
{
	struct sdbus_units *s = calloc(1, sizeof(*s));
	int r;

	*out = NULL;
	if (!s) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	s->base.ops = &sdbus_ops;
	s->timeout_us = timeout_us ? timeout_us : SDBUS_TIMEOUT_US;
	if (address && str_copy(s->address, address, sizeof(s->address)) >= sizeof(s->address)) {
		snprintf(err, errlen, "D-Bus address too long");
		free(s);
		return -ENAMETOOLONG;
	}
	r = sdbus_connect(s, err, errlen);
	if (r < 0) {
		free(s);
		return r;
	}
	*out = &s->base;
	return 0;
}
