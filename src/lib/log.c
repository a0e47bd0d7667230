/* log.c - small attributed logging: one line per event, to stderr. */
#include "lib/log.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* File-local logging state (set once at start-up by log_init). */
static struct {
	const char *progname;
	enum vs_log_level level;
} log_state = { "vspace", VS_LOG_INFO };

static const char *const log_level_names[] = { "error", "warn", "info", "debug" };

void log_init(const char *progname, enum vs_log_level level)
{
	log_state.progname = progname;
	log_state.level = level;
}

void log_set_level(enum vs_log_level level)
{
	log_state.level = level;
}

enum vs_log_level log_get_level(void)
{
	return log_state.level;
}

static void log_vwrite(enum vs_log_level level, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	if (level > log_state.level)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum != 0)
		fprintf(stderr, "%s: %s: %s: %s\n", log_state.progname, log_level_names[level], msg,
			strerror(errnum));
	else
		fprintf(stderr, "%s: %s: %s\n", log_state.progname, log_level_names[level], msg);
}

#define LOG_BODY(level, errnum)                                                                    \
	do {                                                                                       \
		va_list ap;                                                                        \
		va_start(ap, fmt);                                                                 \
		log_vwrite((level), (errnum), fmt, ap);                                            \
		va_end(ap);                                                                        \
	} while (0)

void log_warn(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(VS_LOG_WARN, e);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY(VS_LOG_WARN, 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY(VS_LOG_INFO, 0);
}

void log_debug(const char *fmt, ...)
{
	LOG_BODY(VS_LOG_DEBUG, 0);
}

void log_error(const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(VS_LOG_ERROR, e);
}

void log_errorx(const char *fmt, ...)
{
	LOG_BODY(VS_LOG_ERROR, 0);
}

void fatal(int status, const char *fmt, ...)
{
	int e = errno;
	LOG_BODY(VS_LOG_ERROR, e);
	exit(status);
}

void fatalx(int status, const char *fmt, ...)
{
	LOG_BODY(VS_LOG_ERROR, 0);
	exit(status);
}
