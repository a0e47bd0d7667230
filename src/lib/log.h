/* log.h - small attributed logging: one line per event, to stderr or syslog. */
#ifndef VS_LIB_LOG_H
#define VS_LIB_LOG_H

#include <stdarg.h>
#include <stdbool.h>

enum vs_log_level {
	VS_LOG_ERROR = 0,
	VS_LOG_WARN = 1,
	VS_LOG_INFO = 2,
	VS_LOG_DEBUG = 3,
};

/* Set the program name printed before each line and the most verbose level
 * that is printed. Logging goes to stderr. */
void log_init(const char *progname, enum vs_log_level level);
void log_set_level(enum vs_log_level level);
enum vs_log_level log_get_level(void);

/* The `_warn` forms append ": strerror(errno)"; the `x` forms do not. */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errorx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Log and exit(status). */
_Noreturn void fatal(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
_Noreturn void fatalx(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
