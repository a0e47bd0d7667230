/* vfplug.c - hot-plug a VF into a running VM and take it out again: QMP or libvirt. */
#include "platform/linux/vfplug.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/strutil.h"
#include "platform/linux/vfpool.h"
#include "platform/linux/virt.h"

/* announce-self: 3 rounds 50 ms, 150 ms, 250 ms apart (QEMU's defaults for
 * migration are 50/550/5/100: initial, max, rounds, step). */
#define VFPLUG_ANNOUNCE_INITIAL_MS 50
#define VFPLUG_ANNOUNCE_MAX_MS	   550
#define VFPLUG_ANNOUNCE_ROUNDS	   3
#define VFPLUG_ANNOUNCE_STEP_MS	   100
/* How long device_add/device_del/announce-self may take to be answered. */
#define VFPLUG_REPLY_TIMEOUT_MS 5000

static bool vfplug_id_ok(const char *s, bool may_be_empty)
{
	if (!*s)
		return may_be_empty;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

int vfplug_dev_check(const struct vfplug_dev *d, bool libvirt, bool unplug, char *err,
		     size_t errlen)
{
	unsigned u[4];
	char mac[18];
	bool vfio = strcmp(d->driver, "vfio-pci") == 0;

	if (!vfplug_id_ok(d->id, false) || (d->id[0] >= '0' && d->id[0] <= '9')) {
		snprintf(err, errlen,
			 "device id \"%s\": letters, digits, - _ . (not first a digit)", d->id);
		return -1;
	}
	if (unplug && !libvirt)
		return vfplug_id_ok(d->standby_nic, true)
			       ? 0
			       : (snprintf(err, errlen,
					   "standby NIC name \"%s\": letters, digits, - _ .",
					   d->standby_nic),
				  -1);
	if (!vfplug_id_ok(d->driver, false)) {
		snprintf(err, errlen, "device driver \"%s\" is not a QEMU device name", d->driver);
		return -1;
	}
	if (!vfplug_id_ok(d->standby, true) || !vfplug_id_ok(d->standby_nic, true) ||
	    !vfplug_id_ok(d->bus, true) || !vfplug_id_ok(d->netdev, true)) {
		snprintf(err, errlen, "standby, bus and netdev names: letters, digits, - _ .");
		return -1;
	}
	if (vfpool_parse_mac(d->mac, mac) < 0) {
		snprintf(err, errlen, "MAC \"%s\" is not aa:bb:cc:dd:ee:ff", d->mac);
		return -1;
	}
	if ((vfio || libvirt) && vfpool_parse_pci(d->host_pci, &u[0], &u[1], &u[2], &u[3]) < 0) {
		snprintf(err, errlen, "VF address \"%s\" is not a PCI address DDDD:BB:DD.F",
			 d->host_pci);
		return -1;
	}
	if (!libvirt && !vfio && !d->netdev[0]) {
		snprintf(err, errlen, "a stand-in NIC (%s) needs the netdev behind it", d->driver);
		return -1;
	}
	if (libvirt && !vfio) {
		snprintf(err, errlen, "libvirt plugs VFs only (driver vfio-pci), not %s",
			 d->driver);
		return -1;
	}
	return 0;
}

/* ---- QMP ---------------------------------------------------------------------- */

json_t *vfplug_qmp_add_args(const struct vfplug_dev *d)
{
	json_t *a = json_pack("{s:s,s:s}", "driver", d->driver, "id", d->id);

	if (!a)
		return NULL;
	if (strcmp(d->driver, "vfio-pci") == 0) {
		json_object_set_new(a, "host", json_string(d->host_pci));
	} else {
		json_object_set_new(a, "netdev", json_string(d->netdev));
		json_object_set_new(a, "mac", json_string(d->mac));
	}
	if (d->bus[0])
		json_object_set_new(a, "bus", json_string(d->bus));
	if (d->standby[0])
		json_object_set_new(a, "failover_pair_id", json_string(d->standby));
	return a;
}

void vfplug_qmp_start(struct vfplug_qmp *op, const struct vfplug_dev *d, bool unplug,
		      int timeout_ms, bool announce, uint64_t now_us)
{
	memset(op, 0, sizeof(*op));
	op->dev = *d;
	op->unplug = unplug;
	op->announce = announce && unplug && d->standby_nic[0];
	op->timeout_ms = timeout_ms > 0 ? timeout_ms : VFPLUG_REPLY_TIMEOUT_MS;
	op->start_us = now_us;
	op->deadline_us = now_us + (uint64_t)VFPLUG_REPLY_TIMEOUT_MS * 1000u;
	op->state = VFPLUG_IDLE;
}

void vfplug_qmp_event(struct vfplug_qmp *op, const json_t *event)
{
	const char *name = json_string_value(json_object_get(event, "event"));
	const char *dev =
		json_string_value(json_object_get(json_object_get(event, "data"), "device"));

	if (name && dev && strcmp(name, "DEVICE_DELETED") == 0 && strcmp(dev, op->dev.id) == 0)
		op->deleted = true;
}

static void vfplug_qmp_on_event(void *arg, const json_t *event)
{
	vfplug_qmp_event(arg, event);
}

void vfplug_qmp_hook(struct qmpconn *c, struct vfplug_qmp *op)
{
	c->on_event = vfplug_qmp_on_event;
	c->event_arg = op;
}

static enum vfplug_state vfplug_fail(struct vfplug_qmp *op, uint64_t now_us, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static enum vfplug_state vfplug_fail(struct vfplug_qmp *op, uint64_t now_us, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(op->err, sizeof(op->err), fmt, ap);
	va_end(ap);
	op->state = VFPLUG_FAILED;
	op->done_us = now_us;
	return op->state;
}

static enum vfplug_state vfplug_done(struct vfplug_qmp *op, uint64_t now_us)
{
	op->state = VFPLUG_DONE;
	op->done_us = now_us;
	return op->state;
}

/* Send the op's next command. */
static enum vfplug_state vfplug_qmp_send(struct vfplug_qmp *op, struct qmpconn *c, uint64_t now_us)
{
	char err[256];
	json_t *args;
	const char *cmd;

	switch (op->state) {
	case VFPLUG_IDLE:
		cmd = op->unplug ? "device_del" : "device_add";
		args = op->unplug ? json_pack("{s:s}", "id", op->dev.id)
				  : vfplug_qmp_add_args(&op->dev);
		break;
	case VFPLUG_WAIT_DELETED: /* deleted: the announcement comes next */
		cmd = "announce-self";
		args = json_pack("{s:i,s:i,s:i,s:i,s:[s]}", "initial", VFPLUG_ANNOUNCE_INITIAL_MS,
				 "max", VFPLUG_ANNOUNCE_MAX_MS, "rounds", VFPLUG_ANNOUNCE_ROUNDS,
				 "step", VFPLUG_ANNOUNCE_STEP_MS, "interfaces",
				 op->dev.standby_nic);
		break;
	default:
		return op->state;
	}
	if (!args)
		return vfplug_fail(op, now_us, "%s: out of memory", cmd);
	uint64_t id = qmpconn_send(c, cmd, args, err, sizeof(err));
	json_decref(args);
	if (id == 0)
		return vfplug_fail(op, now_us, "%s: %.200s", cmd, err);
	op->deadline_us = now_us + (uint64_t)VFPLUG_REPLY_TIMEOUT_MS * 1000u;
	op->state = op->state == VFPLUG_IDLE ? (op->unplug ? VFPLUG_DEL_SENT : VFPLUG_ADD_SENT)
					     : VFPLUG_ANNOUNCE_SENT;
	return op->state;
}

/* QEMU answered the op's outstanding command. */
static enum vfplug_state vfplug_qmp_reply(struct vfplug_qmp *op, json_t *reply, uint64_t now_us)
{
	char what[200], cls[48];
	bool error = qmpconn_error(reply, what, sizeof(what), cls, sizeof(cls));

	switch (op->state) {
	case VFPLUG_ADD_SENT:
		op->acked_us = now_us;
		if (error && strstr(what, "Duplicate")) {
			op->was_absent = true; /* there already: nothing to do */
			return vfplug_done(op, now_us);
		}
		if (error)
			return vfplug_fail(op, now_us, "device_add %s: %.200s", op->dev.id, what);
		return vfplug_done(op, now_us);
	case VFPLUG_DEL_SENT:
		op->acked_us = now_us;
		if (error && (strcmp(cls, "DeviceNotFound") == 0 || strstr(what, "not found"))) {
			op->was_absent = true;
			return vfplug_done(op, now_us);
		}
		if (error)
			return vfplug_fail(op, now_us, "device_del %s: %.200s", op->dev.id, what);
		op->state = VFPLUG_WAIT_DELETED;
		op->deadline_us = now_us + (uint64_t)op->timeout_ms * 1000u;
		return op->state;
	case VFPLUG_ANNOUNCE_SENT:
		if (error) /* the device is gone: the announcement is a courtesy */
			snprintf(op->err, sizeof(op->err), "announce-self: %.200s", what);
		return vfplug_done(op, now_us);
	default:
		return op->state;
	}
}

enum vfplug_state vfplug_qmp_step(struct vfplug_qmp *op, struct qmpconn *c, uint64_t now_us)
{
	char err[256];

	for (;;) {
		json_t *reply = NULL;
		enum qmpconn_rc rc;

		if (op->state == VFPLUG_DONE || op->state == VFPLUG_FAILED)
			return op->state;
		if (op->state == VFPLUG_WAIT_DELETED && op->deleted) {
			if (!op->gone_us)
				op->gone_us = now_us;
			if (!op->announce)
				return vfplug_done(op, now_us);
		}
		if ((op->state == VFPLUG_IDLE ||
		     (op->state == VFPLUG_WAIT_DELETED && op->deleted)) &&
		    qmpconn_can_send(c)) {
			vfplug_qmp_send(op, c, now_us);
			continue;
		}
		if (c->fd < 0)
			return vfplug_fail(op, now_us, "QMP socket %s: not connected", c->path);
		rc = qmpconn_step(c, &reply, err, sizeof(err));
		if (rc == QMPCONN_BROKEN || rc == QMPCONN_GARBAGE) {
			json_decref(reply);
			return vfplug_fail(op, now_us, "%.250s", err);
		}
		if (rc == QMPCONN_REPLY) {
			vfplug_qmp_reply(op, reply, now_us);
			json_decref(reply);
			continue;
		}
		if ((op->state == VFPLUG_WAIT_DELETED && op->deleted) ||
		    (op->state == VFPLUG_IDLE && qmpconn_can_send(c)))
			continue; /* the event came, or the handshake finished */
		if (now_us < op->deadline_us)
			return op->state;
		switch (op->state) {
		case VFPLUG_WAIT_DELETED:
			return vfplug_fail(op, now_us,
					   "device_del: the guest did not release %s within %d ms "
					   "(no DEVICE_DELETED)",
					   op->dev.id, op->timeout_ms);
		case VFPLUG_IDLE:
			return vfplug_fail(op, now_us, "QMP socket %s: %s", c->path,
					   c->state == QMPCONN_READY
						   ? "busy with another command for 5000 ms"
						   : "no QMP handshake within 5000 ms");
		default:
			qmpconn_abandon(c);
			return vfplug_fail(op, now_us, "QMP socket %s: no answer within 5000 ms",
					   c->path);
		}
	}
}

uint64_t vfplug_qmp_next_us(const struct vfplug_qmp *op, uint64_t now_us)
{
	if (op->state == VFPLUG_DONE || op->state == VFPLUG_FAILED)
		return UINT64_MAX;
	return op->deadline_us > now_us ? op->deadline_us : now_us;
}

int vfplug_qmp_run(struct vfplug_qmp *op, struct qmpconn *c)
{
	char err[256];
	uint64_t now = qmpconn_now_us();

	if (c->fd < 0 && qmpconn_open(c, err, sizeof(err)) < 0) {
		snprintf(op->err, sizeof(op->err), "%s", err);
		op->state = VFPLUG_FAILED;
		return -1;
	}
	for (;;) {
		enum vfplug_state st = vfplug_qmp_step(op, c, now);
		if (st == VFPLUG_DONE)
			return 0;
		if (st == VFPLUG_FAILED)
			return -1;
		/* the handshake has its own wait: bound it by the op's deadline */
		uint64_t next = vfplug_qmp_next_us(op, now);
		int wait_ms = (int)((next - now) / 1000u) + 1;
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		if (wait_ms > 100)
			wait_ms = 100;
		poll(&p, 1, wait_ms);
		now = qmpconn_now_us();
	}
}

/* ---- libvirt -------------------------------------------------------------------- */

int vfplug_libvirt_xml(const struct vfplug_dev *d, char *buf, size_t len)
{
	unsigned dom = 0, bus = 0, slot = 0, fn = 0;
	size_t n = 0;

	if (vfpool_parse_pci(d->host_pci, &dom, &bus, &slot, &fn) < 0)
		return -1;
	str_appendf(buf, len, &n,
		    "<interface type='hostdev' managed='yes'>\n"
		    "  <mac address='%s'/>\n"
		    "  <source>\n"
		    "    <address type='pci' domain='0x%04x' bus='0x%02x' slot='0x%02x' "
		    "function='0x%x'/>\n"
		    "  </source>\n",
		    d->mac, dom, bus, slot, fn);
	if (d->standby[0])
		str_appendf(buf, len, &n, "  <teaming type='transient' persistent='%s'/>\n",
			    d->standby);
	str_appendf(buf, len, &n, "  <alias name='ua-%s'/>\n</interface>\n", d->id);
	return n < len ? (int)n : -1;
}

/* What attach and detach start with: d checked, its XML into xml. */
static int vfplug_libvirt_prologue(const struct vfplug_dev *d, char *xml, size_t len, char *err,
				   size_t errlen)
{
	if (vfplug_dev_check(d, true, false, err, errlen) < 0)
		return -EINVAL;
	if (vfplug_libvirt_xml(d, xml, len) < 0) {
		snprintf(err, errlen, "interface XML does not fit");
		return -EINVAL;
	}
	return 0;
}

int vfplug_libvirt_attach(struct vs_virt *v, const char *dom, const struct vfplug_dev *d, char *err,
			  size_t errlen)
{
	char xml[1024];
	int rc = vfplug_libvirt_prologue(d, xml, sizeof(xml), err, errlen);

	if (rc < 0)
		return rc;
	rc = virt_attach_device(v, dom, xml);
	if (rc < 0)
		snprintf(err, errlen, "domain %s: attaching VF %s: %s", dom, d->host_pci,
			 virt_last_error(v));
	return rc;
}

int vfplug_libvirt_detach(struct vs_virt *v, const char *dom, const struct vfplug_dev *d,
			  int timeout_ms, char *err, size_t errlen)
{
	char xml[1024], alias[48];
	struct timespec pause = { 0, 50 * 1000000L };
	int rc = vfplug_libvirt_prologue(d, xml, sizeof(xml), err, errlen);

	if (rc < 0)
		return rc;
	snprintf(alias, sizeof(alias), "ua-%s", d->id);
	rc = virt_device_present(v, dom, alias);
	if (rc == 0)
		return 0; /* not there: nothing to do */
	rc = virt_detach_device(v, dom, xml);
	if (rc < 0) {
		snprintf(err, errlen, "domain %s: detaching VF %s: %s", dom, d->host_pci,
			 virt_last_error(v));
		return rc;
	}
	for (int waited = 0;; waited += 50) {
		rc = virt_device_present(v, dom, alias);
		if (rc == 0)
			return 0;
		if (rc < 0) {
			snprintf(err, errlen, "domain %s: %s", dom, virt_last_error(v));
			return rc;
		}
		if (waited >= timeout_ms) {
			snprintf(
				err, errlen,
				"domain %s: VF %s still attached %d ms after the detach (the guest "
				"did not release it)",
				dom, d->host_pci, timeout_ms);
			return -ETIMEDOUT;
		}
		nanosleep(&pause, NULL);
	}
}
