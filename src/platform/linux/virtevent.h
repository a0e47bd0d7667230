/* virtevent.h - libvirt's event loop run inside vspaced's own epoll loop (virEventRegisterImpl). */
#ifndef VS_PLATFORM_LINUX_VIRTEVENT_H
#define VS_PLATFORM_LINUX_VIRTEVENT_H

#include <stdbool.h>
#include <stddef.h>

/*
 * libvirt delivers domain events, keepalive pings and connection-close
 * notices only through an event loop the application provides. This one
 * keeps libvirt's file handles and timers on an epoll fd of its own
 * (virtev_fd(), readable when a handle is ready or a timer is due, through a
 * timerfd armed at the earliest deadline); the daemon adds that fd to its
 * loop and calls virtev_dispatch() when it is readable. Everything runs on
 * the daemon's thread: no thread of libvirt's, no locking in the callbacks.
 *
 * libvirt's event API is process-wide and its callbacks carry no context
 * pointer, so there is one loop per process: virtev_open() registers the
 * implementation with libvirt the first time (before any connection is
 * opened) and later opens reuse it. It is the one file-scope pointer in the
 * code base, held here and nowhere else.
 *
 *   virtev_open(&ev, err, len)     before virConnectOpen
 *   epoll_ctl(loop, ADD, virtev_fd(ev), EPOLLIN)
 *   on EPOLLIN: virtev_dispatch(ev)   handles ready, timers due, deferred frees
 *   virtev_close(ev)              after every connection is closed
 */
struct virtev;

/* Counters for status and tests. */
struct virtev_stats {
	int handles;			 /* registered now */
	int timers;			 /* registered now */
	unsigned long long handle_calls; /* handle callbacks run */
	unsigned long long timer_calls;	 /* timer callbacks run */
	unsigned long long dispatches;	 /* virtev_dispatch calls */
};

/* Create the loop and make it libvirt's. Returns 0, or -1 with err set
 * (built without libvirt, a loop already open, or epoll/timerfd failed). */
int virtev_open(struct virtev **out, char *err, size_t errlen);
/* The epoll fd to wait on (EPOLLIN). */
int virtev_fd(const struct virtev *ev);
/* Run what is due: ready handles, expired timers, then the frees libvirt
 * asked for (never from inside its own remove calls). Never blocks. */
void virtev_dispatch(struct virtev *ev);
/* Milliseconds until the next timer (0: due now; -1: none). */
int virtev_timeout_ms(const struct virtev *ev);
void virtev_stats(const struct virtev *ev, struct virtev_stats *out);
/* Free the loop; libvirt's later calls fail until a new one is opened. */
void virtev_close(struct virtev *ev);

#endif
