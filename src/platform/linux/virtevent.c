/* virtevent.c - libvirt's event loop run inside vspaced's own epoll loop: handles on an epoll fd, timers on one timerfd. */
#include "platform/linux/virtevent.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#ifdef VS_HAVE_LIBVIRT
#include <libvirt/libvirt.h>

/* A file handle libvirt watches. fd is libvirt's; efd our dup of it in the
 * epoll set (libvirt may register one fd twice for different events, and
 * epoll takes each fd number once). */
struct virtev_handle {
	int watch;
	int fd, efd;
	int events; /* VIR_EVENT_HANDLE_* wanted; 0 = disabled (out of the epoll set) */
	bool in_epoll;
	bool deleted; /* removed: ff runs at the end of the dispatch */
	virEventHandleCallback cb;
	void *opaque;
	virFreeCallback ff;
};

struct virtev_timer {
	int id;
	int freq_ms;	 /* -1 disabled, 0 every dispatch, > 0 period */
	uint64_t due_ms; /* CLOCK_MONOTONIC */
	bool deleted;
	virEventTimeoutCallback cb;
	void *opaque;
	virFreeCallback ff;
};

struct virtev {
	int epfd, tfd;
	struct virtev_handle *h;
	int n_h, cap_h;
	struct virtev_timer *t;
	int n_t, cap_t;
	int next_watch, next_timer;
	int depth; /* > 0 while callbacks run: frees wait */
	struct virtev_stats st;
};

/* libvirt's callbacks carry no context: the loop they act on. */
static struct virtev *virtev_cur;
static bool virtev_registered;

static uint64_t virtev_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static uint32_t virtev_to_epoll(int events)
{
	return (events & VIR_EVENT_HANDLE_READABLE ? EPOLLIN : 0u) |
	       (events & VIR_EVENT_HANDLE_WRITABLE ? EPOLLOUT : 0u);
}

static int virtev_from_epoll(uint32_t e)
{
	return (e & EPOLLIN ? VIR_EVENT_HANDLE_READABLE : 0) |
	       (e & EPOLLOUT ? VIR_EVENT_HANDLE_WRITABLE : 0) |
	       (e & EPOLLERR ? VIR_EVENT_HANDLE_ERROR : 0) |
	       (e & EPOLLHUP ? VIR_EVENT_HANDLE_HANGUP : 0);
}

/* Put the handle's epoll registration in line with its events: a disabled
 * handle leaves the set (epoll would keep reporting a hang-up). */
static int virtev_sync(struct virtev *ev, struct virtev_handle *h)
{
	struct epoll_event e = { .events = virtev_to_epoll(h->events),
				 .data.u64 = (uint64_t)h->watch };
	int rc = 0;

	if (h->events && !h->deleted)
		rc = epoll_ctl(ev->epfd, h->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, h->efd, &e);
	else if (h->in_epoll)
		rc = epoll_ctl(ev->epfd, EPOLL_CTL_DEL, h->efd, NULL);
	if (rc == 0)
		h->in_epoll = h->events && !h->deleted;
	return rc;
}

/* Arm the timerfd at the earliest deadline (disarmed when no timer runs). */
static void virtev_arm(struct virtev *ev)
{
	struct itimerspec its = { 0 };
	uint64_t due = UINT64_MAX;

	for (int i = 0; i < ev->n_t; i++)
		if (!ev->t[i].deleted && ev->t[i].freq_ms >= 0 && ev->t[i].due_ms < due)
			due = ev->t[i].due_ms;
	if (due != UINT64_MAX) {
		its.it_value.tv_sec = (time_t)(due / 1000u);
		its.it_value.tv_nsec = (long)(due % 1000u) * 1000000L;
		if (its.it_value.tv_sec == 0 && its.it_value.tv_nsec == 0)
			its.it_value.tv_nsec = 1;
	}
	timerfd_settime(ev->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static struct virtev_handle *virtev_find_handle(struct virtev *ev, int watch)
{
	for (int i = 0; i < ev->n_h; i++)
		if (ev->h[i].watch == watch && !ev->h[i].deleted)
			return &ev->h[i];
	return NULL;
}

static struct virtev_timer *virtev_find_timer(struct virtev *ev, int id)
{
	for (int i = 0; i < ev->n_t; i++)
		if (ev->t[i].id == id && !ev->t[i].deleted)
			return &ev->t[i];
	return NULL;
}

/* ---- the six functions libvirt calls ----------------------------------------------------------- */

static int virtev_add_handle(int fd, int events, virEventHandleCallback cb, void *opaque,
			     virFreeCallback ff)
{
	struct virtev *ev = virtev_cur;
	struct virtev_handle *h;

	if (!ev || fd < 0)
		return -1;
	if (ev->n_h == ev->cap_h) {
		int cap = ev->cap_h ? ev->cap_h * 2 : 8;
		struct virtev_handle *n = realloc(ev->h, (size_t)cap * sizeof(*n));
		if (!n)
			return -1;
		ev->h = n;
		ev->cap_h = cap;
	}
	h = &ev->h[ev->n_h];
	memset(h, 0, sizeof(*h));
	h->efd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
	if (h->efd < 0)
		return -1;
	h->watch = ++ev->next_watch;
	h->fd = fd;
	h->events = events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_WRITABLE);
	h->cb = cb;
	h->opaque = opaque;
	h->ff = ff;
	if (virtev_sync(ev, h) < 0) {
		close(h->efd);
		return -1;
	}
	ev->n_h++;
	ev->st.handles++;
	return h->watch;
}

static void virtev_update_handle(int watch, int events)
{
	struct virtev *ev = virtev_cur;
	struct virtev_handle *h = ev ? virtev_find_handle(ev, watch) : NULL;

	if (!h)
		return;
	h->events = events & (VIR_EVENT_HANDLE_READABLE | VIR_EVENT_HANDLE_WRITABLE);
	virtev_sync(ev, h);
}

static int virtev_remove_handle(int watch)
{
	struct virtev *ev = virtev_cur;
	struct virtev_handle *h = ev ? virtev_find_handle(ev, watch) : NULL;

	if (!h)
		return -1;
	h->deleted = true;
	virtev_sync(ev, h);
	ev->st.handles--;
	/* the free runs from a clean stack: the next dispatch, made due now */
	if (h->ff && ev->depth == 0) {
		struct itimerspec its = { .it_value.tv_nsec = 1 };
		timerfd_settime(ev->tfd, 0, &its, NULL);
	}
	return 0;
}

static int virtev_add_timeout(int freq_ms, virEventTimeoutCallback cb, void *opaque,
			      virFreeCallback ff)
{
	struct virtev *ev = virtev_cur;
	struct virtev_timer *t;

	if (!ev)
		return -1;
	if (ev->n_t == ev->cap_t) {
		int cap = ev->cap_t ? ev->cap_t * 2 : 8;
		struct virtev_timer *n = realloc(ev->t, (size_t)cap * sizeof(*n));
		if (!n)
			return -1;
		ev->t = n;
		ev->cap_t = cap;
	}
	t = &ev->t[ev->n_t++];
	memset(t, 0, sizeof(*t));
	t->id = ++ev->next_timer;
	t->freq_ms = freq_ms < 0 ? -1 : freq_ms;
	t->due_ms = virtev_now_ms() + (uint64_t)(freq_ms > 0 ? freq_ms : 0);
	t->cb = cb;
	t->opaque = opaque;
	t->ff = ff;
	ev->st.timers++;
	virtev_arm(ev);
	return t->id;
}

static void virtev_update_timeout(int id, int freq_ms)
{
	struct virtev *ev = virtev_cur;
	struct virtev_timer *t = ev ? virtev_find_timer(ev, id) : NULL;

	if (!t)
		return;
	t->freq_ms = freq_ms < 0 ? -1 : freq_ms;
	t->due_ms = virtev_now_ms() + (uint64_t)(freq_ms > 0 ? freq_ms : 0);
	virtev_arm(ev);
}

static int virtev_remove_timeout(int id)
{
	struct virtev *ev = virtev_cur;
	struct virtev_timer *t = ev ? virtev_find_timer(ev, id) : NULL;

	if (!t)
		return -1;
	t->deleted = true;
	ev->st.timers--;
	if (t->ff && ev->depth == 0) {
		struct itimerspec its = { .it_value.tv_nsec = 1 };
		timerfd_settime(ev->tfd, 0, &its, NULL);
	}
	return 0;
}

/* ---- the loop ---------------------------------------------------------------------------------- */

/* Free what libvirt removed, now that no callback of its is running. */
static void virtev_purge(struct virtev *ev)
{
	int k = 0;

	for (int i = 0; i < ev->n_h; i++) {
		struct virtev_handle h = ev->h[i];
		if (!h.deleted) {
			ev->h[k++] = h;
			continue;
		}
		close(h.efd);
		if (h.ff)
			h.ff(h.opaque);
	}
	ev->n_h = k;
	k = 0;
	for (int i = 0; i < ev->n_t; i++) {
		struct virtev_timer t = ev->t[i];
		if (!t.deleted) {
			ev->t[k++] = t;
			continue;
		}
		if (t.ff)
			t.ff(t.opaque);
	}
	ev->n_t = k;
}

void virtev_dispatch(struct virtev *ev)
{
	struct epoll_event e[32];
	uint64_t now, exp;
	int n, n_t;

	ev->st.dispatches++;
	ev->depth++;
	n = epoll_wait(ev->epfd, e, 32, 0);
	for (int i = 0; i < n; i++) {
		struct virtev_handle *h;
		virEventHandleCallback cb;
		void *opaque;
		int watch, fd, revents;

		if (e[i].data.u64 == 0) {
			if (read(ev->tfd, &exp, sizeof(exp)) < 0 && errno != EAGAIN)
				exp = 0;
			continue;
		}
		/* the callback may add or remove handles (and move the array) */
		h = virtev_find_handle(ev, (int)e[i].data.u64);
		if (!h || !h->events)
			continue;
		revents = virtev_from_epoll(e[i].events) &
			  (h->events | VIR_EVENT_HANDLE_ERROR | VIR_EVENT_HANDLE_HANGUP);
		if (!revents)
			continue;
		cb = h->cb;
		opaque = h->opaque;
		watch = h->watch;
		fd = h->fd;
		ev->st.handle_calls++;
		cb(watch, fd, revents, opaque);
	}
	/* timers added by these callbacks wait for the next dispatch */
	now = virtev_now_ms();
	n_t = ev->n_t;
	for (int i = 0; i < n_t; i++) {
		struct virtev_timer *t = &ev->t[i];
		virEventTimeoutCallback cb;
		void *opaque;
		int id;

		if (t->deleted || t->freq_ms < 0 || t->due_ms > now)
			continue;
		t->due_ms = now + (uint64_t)t->freq_ms;
		cb = t->cb;
		opaque = t->opaque;
		id = t->id;
		ev->st.timer_calls++;
		cb(id, opaque);
	}
	ev->depth--;
	if (ev->depth == 0)
		virtev_purge(ev);
	virtev_arm(ev);
}

int virtev_timeout_ms(const struct virtev *ev)
{
	uint64_t due = UINT64_MAX, now = virtev_now_ms();

	for (int i = 0; i < ev->n_t; i++)
		if (!ev->t[i].deleted && ev->t[i].freq_ms >= 0 && ev->t[i].due_ms < due)
			due = ev->t[i].due_ms;
	if (due == UINT64_MAX)
		return -1;
	return due <= now ? 0 : (int)(due - now);
}

int virtev_open(struct virtev **out, char *err, size_t errlen)
{
	struct epoll_event e = { .events = EPOLLIN, .data.u64 = 0 };
	struct virtev *ev;

	if (virtev_cur) {
		snprintf(err, errlen, "libvirt event loop: one is open already in this process");
		return -1;
	}
	ev = calloc(1, sizeof(*ev));
	if (!ev) {
		snprintf(err, errlen, "libvirt event loop: out of memory");
		return -1;
	}
	ev->epfd = epoll_create1(EPOLL_CLOEXEC);
	ev->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (ev->epfd < 0 || ev->tfd < 0 || epoll_ctl(ev->epfd, EPOLL_CTL_ADD, ev->tfd, &e) < 0) {
		snprintf(err, errlen, "libvirt event loop: %s", strerror(errno));
		if (ev->epfd >= 0)
			close(ev->epfd);
		if (ev->tfd >= 0)
			close(ev->tfd);
		free(ev);
		return -1;
	}
	virtev_cur = ev;
	if (!virtev_registered) {
		virEventRegisterImpl(virtev_add_handle, virtev_update_handle, virtev_remove_handle,
				     virtev_add_timeout, virtev_update_timeout,
				     virtev_remove_timeout);
		virtev_registered = true;
	}
	*out = ev;
	return 0;
}

int virtev_fd(const struct virtev *ev)
{
	return ev->epfd;
}

void virtev_stats(const struct virtev *ev, struct virtev_stats *out)
{
	*out = ev->st;
}

void virtev_close(struct virtev *ev)
{
	if (!ev)
		return;
	/* what libvirt still holds is freed with the loop */
	for (int i = 0; i < ev->n_h; i++)
		ev->h[i].deleted = true;
	for (int i = 0; i < ev->n_t; i++)
		ev->t[i].deleted = true;
	virtev_purge(ev);
	close(ev->epfd);
	close(ev->tfd);
	free(ev->h);
	free(ev->t);
	if (virtev_cur == ev)
		virtev_cur = NULL;
	free(ev);
}

#else /* !VS_HAVE_LIBVIRT */

struct virtev {
	int unused;
};

int virtev_open(struct virtev **out, char *err, size_t errlen)
{
	snprintf(err, errlen, "vspace was built without libvirt (install libvirt-dev and rebuild)");
	return -1;
}

int virtev_fd(const struct virtev *ev)
{
	return -1;
}

void virtev_dispatch(struct virtev *ev)
{
}

int virtev_timeout_ms(const struct virtev *ev)
{
	return -1;
}

void virtev_stats(const struct virtev *ev, struct virtev_stats *out)
{
	memset(out, 0, sizeof(*out));
}

void virtev_close(struct virtev *ev)
{
}
#endif
