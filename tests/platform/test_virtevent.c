/* test_virtevent.c - libvirt's event loop inside our epoll: handles, timers, deferred frees, and the test:/// driver's domain lifecycle events delivered through it. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "lib/log.h"
#include "platform/linux/virt.h"
#include "platform/linux/virtevent.h"
#include "testutil.h"

#ifdef VS_HAVE_LIBVIRT
#include <libvirt/libvirt.h>
#include <libvirt/virterror.h>

/* What the callbacks saw. */
struct seen {
	int calls;
	int last_events;
	int freed;
	int remove_watch; /* remove this watch from inside the callback */
	int freed_during_cb;
};

static void on_handle(int watch, int fd, int events, void *opaque)
{
	struct seen *s = opaque;
	char buf[16];

	s->calls++;
	s->last_events = events;
	if (events & VIR_EVENT_HANDLE_READABLE) {
		ssize_t n = read(fd, buf, sizeof(buf));
		(void)n;
	}
	if (s->remove_watch) {
		int freed = s->freed;
		assert_int_equal(virEventRemoveHandle(s->remove_watch), 0);
		/* libvirt: the free never runs inside the remove call */
		s->freed_during_cb = s->freed - freed;
		s->remove_watch = 0;
	}
}

static void on_free(void *opaque)
{
	((struct seen *)opaque)->freed++;
}

static void on_timer(int timer, void *opaque)
{
	((struct seen *)opaque)->calls++;
}

/* Wait on the loop's fd as the daemon does (at most ms), then dispatch. */
static void run_for(struct virtev *ev, int ms)
{
	struct pollfd p = { .fd = virtev_fd(ev), .events = POLLIN };
	struct timespec t0, t;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		long left;
		clock_gettime(CLOCK_MONOTONIC, &t);
		left = ms - ((t.tv_sec - t0.tv_sec) * 1000 + (t.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0)
			break;
		if (poll(&p, 1, (int)left) > 0)
			virtev_dispatch(ev);
	}
}

static void test_handles(void **state)
{
	struct virtev *ev, *ev2;
	struct seen s = { 0 };
	struct virtev_stats st;
	char err[256];
	int p[2], w;

	assert_int_equal(virtev_open(&ev, err, sizeof(err)), 0);
	assert_int_equal(virtev_open(&ev2, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "one is open already"));
	assert_int_equal(pipe(p), 0);
	w = virEventAddHandle(p[0], VIR_EVENT_HANDLE_READABLE, on_handle, &s, on_free);
	assert_true(w > 0);
	/* nothing to read: the fd is quiet */
	run_for(ev, 30);
	assert_int_equal(s.calls, 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	run_for(ev, 30);
	assert_int_equal(s.calls, 1);
	assert_int_equal(s.last_events, VIR_EVENT_HANDLE_READABLE);
	/* disabled: data waits, no callback */
	virEventUpdateHandle(w, 0);
	assert_int_equal(write(p[1], "y", 1), 1);
	run_for(ev, 30);
	assert_int_equal(s.calls, 1);
	/* enabled again: the waiting byte is seen */
	virEventUpdateHandle(w, VIR_EVENT_HANDLE_READABLE);
	run_for(ev, 30);
	assert_int_equal(s.calls, 2);
	/* a hang-up while disabled does not spin the loop */
	virEventUpdateHandle(w, 0);
	close(p[1]);
	virtev_stats(ev, &st);
	run_for(ev, 30);
	{
		struct virtev_stats st2;
		virtev_stats(ev, &st2);
		assert_true(st2.dispatches - st.dispatches <= 1);
	}
	/* enabled: the hang-up reaches the callback, which removes its own handle */
	s.remove_watch = w;
	virEventUpdateHandle(w, VIR_EVENT_HANDLE_READABLE);
	run_for(ev, 30);
	assert_int_equal(s.calls, 3);
	assert_true(s.last_events & VIR_EVENT_HANDLE_HANGUP);
	assert_int_equal(s.freed_during_cb, 0);
	assert_int_equal(s.freed, 1);
	assert_int_equal(virEventRemoveHandle(w), -1);
	virtev_stats(ev, &st);
	assert_int_equal(st.handles, 0);
	close(p[0]);
	/* one fd registered twice (different events) */
	{
		struct seen a = { 0 }, b = { 0 };
		int q[2], wa, wb;
		assert_int_equal(pipe(q), 0);
		wa = virEventAddHandle(q[1], VIR_EVENT_HANDLE_WRITABLE, on_handle, &a, NULL);
		wb = virEventAddHandle(q[0], VIR_EVENT_HANDLE_READABLE, on_handle, &b, NULL);
		assert_true(wa > 0 && wb > 0 && wa != wb);
		run_for(ev, 20);
		assert_true(a.calls >= 1);
		assert_int_equal(a.last_events, VIR_EVENT_HANDLE_WRITABLE);
		assert_int_equal(b.calls, 0);
		assert_int_equal(virEventRemoveHandle(wa), 0);
		assert_int_equal(virEventRemoveHandle(wb), 0);
		close(q[0]);
		close(q[1]);
	}
	virtev_close(ev);
	/* no loop: libvirt's calls fail instead of touching freed memory */
	assert_int_equal(virEventAddTimeout(10, on_timer, &s, NULL), -1);
}

static void test_timers(void **state)
{
	struct virtev *ev;
	struct seen per = { 0 }, off = { 0 }, each = { 0 }, gone = { 0 };
	char err[256];
	int t_per, t_off, t_each, t_gone;

	assert_int_equal(virtev_open(&ev, err, sizeof(err)), 0);
	assert_int_equal(virtev_timeout_ms(ev), -1);
	t_per = virEventAddTimeout(20, on_timer, &per, NULL);
	t_off = virEventAddTimeout(-1, on_timer, &off, NULL);
	assert_true(t_per > 0 && t_off > 0);
	assert_true(virtev_timeout_ms(ev) > 0 && virtev_timeout_ms(ev) <= 20);
	run_for(ev, 210);
	/* every 20 ms for 210 ms: 10 (scheduling may lose one or two) */
	assert_in_range(per.calls, 7, 10);
	assert_int_equal(off.calls, 0);
	/* 0: fires on every dispatch; the loop's fd stays readable meanwhile */
	virEventUpdateTimeout(t_per, -1);
	t_each = virEventAddTimeout(0, on_timer, &each, NULL);
	assert_int_equal(virtev_timeout_ms(ev), 0);
	for (int i = 0; i < 5; i++) {
		struct pollfd p = { .fd = virtev_fd(ev), .events = POLLIN };
		assert_int_equal(poll(&p, 1, 100), 1);
		virtev_dispatch(ev);
	}
	assert_int_equal(each.calls, 5);
	assert_int_equal(virEventRemoveTimeout(t_each), 0);
	/* a removed timer's free runs on the next dispatch, which is due at once */
	t_gone = virEventAddTimeout(1000, on_timer, &gone, on_free);
	assert_int_equal(virEventRemoveTimeout(t_gone), 0);
	assert_int_equal(gone.freed, 0);
	{
		struct pollfd p = { .fd = virtev_fd(ev), .events = POLLIN };
		assert_int_equal(poll(&p, 1, 100), 1);
		virtev_dispatch(ev);
	}
	assert_int_equal(gone.freed, 1);
	assert_int_equal(gone.calls, 0);
	assert_int_equal(virEventRemoveTimeout(t_gone), -1);
	/* the disabled one is re-enabled */
	virEventUpdateTimeout(t_off, 10);
	run_for(ev, 60);
	assert_true(off.calls >= 3);
	assert_int_equal(virEventRemoveTimeout(t_off), 0);
	assert_int_equal(virEventRemoveTimeout(t_per), 0);
	virtev_close(ev);
}

/* Domain events of the test:/// driver, delivered by our loop. */
struct lifecycle {
	int n;
	int type[16];
	char name[16][32];
};

static int on_lifecycle(virConnectPtr conn, virDomainPtr dom, int event, int detail, void *opaque)
{
	struct lifecycle *l = opaque;

	if (l->n < 16) {
		l->type[l->n] = event;
		snprintf(l->name[l->n], sizeof(l->name[0]), "%s", virDomainGetName(dom));
		l->n++;
	}
	return 0;
}

static void quiet(void *arg, virErrorPtr e)
{
}

static void test_domain_events(void **state)
{
	const char *xml = "<domain type='test'><name>ev2</name><memory>65536</memory>"
			  "<vcpu>2</vcpu><os><type>hvm</type></os></domain>";
	struct lifecycle l = { 0 };
	struct virtev *ev;
	struct virtev_stats st;
	virConnectPtr conn;
	virDomainPtr dom, d2;
	char err[256];
	int cb;

	virSetErrorFunc(NULL, quiet);
	assert_int_equal(virtev_open(&ev, err, sizeof(err)), 0);
	conn = virConnectOpen("test:///default");
	assert_non_null(conn);
	cb = virConnectDomainEventRegisterAny(conn, NULL, VIR_DOMAIN_EVENT_ID_LIFECYCLE,
					      VIR_DOMAIN_EVENT_CALLBACK(on_lifecycle), &l, NULL);
	assert_true(cb >= 0);
	dom = virDomainLookupByName(conn, "test");
	assert_non_null(dom);
	assert_int_equal(virDomainSuspend(dom), 0);
	assert_int_equal(virDomainResume(dom), 0);
	assert_int_equal(virDomainDestroy(dom), 0);
	assert_int_equal(virDomainCreate(dom), 0);
	d2 = virDomainDefineXML(conn, xml);
	assert_non_null(d2);
	assert_int_equal(virDomainUndefine(d2), 0);
	/* nothing is delivered until the loop runs */
	assert_int_equal(l.n, 0);
	run_for(ev, 100);
	assert_int_equal(l.n, 6);
	assert_int_equal(l.type[0], VIR_DOMAIN_EVENT_SUSPENDED);
	assert_int_equal(l.type[1], VIR_DOMAIN_EVENT_RESUMED);
	assert_int_equal(l.type[2], VIR_DOMAIN_EVENT_STOPPED);
	assert_int_equal(l.type[3], VIR_DOMAIN_EVENT_STARTED);
	assert_string_equal(l.name[3], "test");
	assert_int_equal(l.type[4], VIR_DOMAIN_EVENT_DEFINED);
	assert_int_equal(l.type[5], VIR_DOMAIN_EVENT_UNDEFINED);
	assert_string_equal(l.name[5], "ev2");
	virDomainFree(d2);
	virDomainFree(dom);
	assert_int_equal(virConnectDomainEventDeregisterAny(conn, cb), 0);
	virConnectClose(conn);
	run_for(ev, 20);
	virtev_stats(ev, &st);
	assert_true(st.timer_calls >= 1);
	assert_int_equal(st.handles, 0);
	assert_int_equal(st.timers, 0);
	virtev_close(ev);
}

/* virt_watch: the platform's view of the events, RESYNC on connect and on overflow. */
static void test_watch(void **state)
{
	struct virt_event e[VIRT_EVQ_MAX + 8];
	struct virt_conn_info ci;
	char names[4][VIRT_NAME_MAX], err[256];
	struct virtev *ev;
	struct vs_virt *v;
	virConnectPtr conn;
	virDomainPtr dom;
	int n;

	assert_int_equal(virtev_open(&ev, err, sizeof(err)), 0);
	assert_int_equal(virt_open(&v, "test:///default", err, sizeof(err)), 0);
	assert_int_equal(virt_take_events(v, e, 8), 0);
	assert_int_equal(virt_watch(v, ev, err, sizeof(err)), 0);
	virt_conn_info(v, &ci);
	assert_true(ci.connected && ci.watching);
	assert_int_equal(ci.connects, 1);
	assert_int_equal(ci.keepalive, 0); /* the test driver has none */
	/* connected: list everything once */
	assert_int_equal(virt_take_events(v, e, 8), 1);
	assert_int_equal(e[0].kind, VIRT_EV_RESYNC);
	assert_int_equal(virt_list_running(v, names, 4), 1);
	assert_string_equal(names[0], "test");

	conn = virConnectOpen("test:///default");
	dom = virDomainLookupByName(conn, "test");
	assert_int_equal(virDomainDestroy(dom), 0);
	assert_int_equal(virDomainCreate(dom), 0);
	assert_int_equal(virDomainSuspend(dom), 0);
	assert_int_equal(virDomainResume(dom), 0);
	{
		unsigned char map = 0x3;
		assert_int_equal(virDomainPinVcpu(dom, 0, &map, 1), 0);
	}
	run_for(ev, 100);
	n = virt_take_events(v, e, 16);
	assert_int_equal(n, 4); /* (the test driver sends no cputune event for the pin) */
	assert_int_equal(e[0].kind, VIRT_EV_STOPPED);
	assert_string_equal(e[0].domain, "test");
	assert_int_equal(e[0].detail, VIR_DOMAIN_EVENT_STOPPED_DESTROYED);
	assert_int_equal(e[1].kind, VIRT_EV_STARTED);
	assert_int_equal(e[2].kind, VIRT_EV_SUSPENDED);
	assert_int_equal(e[3].kind, VIRT_EV_RESUMED);
	/* more than the queue holds: what fits, then one RESYNC */
	for (int i = 0; i < VIRT_EVQ_MAX / 2 + 4; i++) {
		char x[256];
		virDomainPtr d;
		snprintf(x, sizeof(x),
			 "<domain type='test'><name>w%d</name><memory>65536</memory>"
			 "<vcpu>1</vcpu><os><type>hvm</type></os></domain>",
			 i);
		d = virDomainDefineXML(conn, x);
		assert_non_null(d);
		assert_int_equal(virDomainUndefine(d), 0);
		virDomainFree(d);
	}
	run_for(ev, 100);
	n = virt_take_events(v, e, VIRT_EVQ_MAX + 8);
	assert_int_equal(n, VIRT_EVQ_MAX + 1);
	assert_int_equal(e[0].kind, VIRT_EV_DEFINED);
	assert_int_equal(e[1].kind, VIRT_EV_UNDEFINED);
	assert_int_equal(e[VIRT_EVQ_MAX].kind, VIRT_EV_RESYNC);
	assert_int_equal(virt_take_events(v, e, 8), 0);
	virt_conn_info(v, &ci);
	assert_true(ci.events >= (unsigned long long)VIRT_EVQ_MAX + 4);
	assert_int_equal(ci.losses, 0);
	virt_tick(v); /* connected and not lost: nothing to do */
	virt_conn_info(v, &ci);
	assert_int_equal(ci.connects, 1);
	virDomainFree(dom);
	virConnectClose(conn);
	virt_close(v);
	run_for(ev, 20);
	{
		struct virtev_stats st;
		virtev_stats(ev, &st);
		assert_int_equal(st.handles, 0);
		assert_int_equal(st.timers, 0);
	}
	virtev_close(ev);
}
#endif

#ifndef VS_HAVE_LIBVIRT
static void test_without_libvirt(void **state)
{
	struct virtev *ev = NULL;
	char err[256] = "";

	assert_int_equal(virtev_open(&ev, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "without libvirt"));
}
#endif

int main(void)
{
	const struct CMUnitTest tests[] = {
#ifdef VS_HAVE_LIBVIRT
		cmocka_unit_test(test_handles),
		cmocka_unit_test(test_timers),
		cmocka_unit_test(test_domain_events),
		cmocka_unit_test(test_watch),
#else
		cmocka_unit_test(test_without_libvirt),
#endif
	};
	log_init("test_virtevent", VS_LOG_ERROR);
	return VS_RUN_TESTS(tests);
}
