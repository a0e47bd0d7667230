/* sdnotify.h - systemd's readiness and watchdog protocol (Type=notify), without libsystemd. */
#ifndef VS_DAEMON_SDNOTIFY_H
#define VS_DAEMON_SDNOTIFY_H

#include <stdint.h>

/* Send state ("READY=1", "STATUS=...", "STOPPING=1", "WATCHDOG=1") to
 * $NOTIFY_SOCKET. Returns 1 sent, 0 not under systemd, -1 error. */
int sdnotify(const char *state);
/* The watchdog interval asked for by systemd ($WATCHDOG_USEC for our pid),
 * microseconds; 0 when none. */
uint64_t sdnotify_watchdog_usec(void);

#endif
