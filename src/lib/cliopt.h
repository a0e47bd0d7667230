/* cliopt.h - getopt_long's errors said the same way by every program (unknown option, missing value). */
#ifndef VS_LIB_CLIOPT_H
#define VS_LIB_CLIOPT_H

#include <stddef.h>

/* The usage exit status of every vspace program. */
#define CLIOPT_EXIT_USAGE 2

/* After getopt_long() returned ch = '?' (unknown option) or ':' (option
 * without its value) — called with opterr = 0 and ':' first in optstring
 * (after a '+', if any) — write into buf what was wrong, naming the option
 * as the user typed it: `PROG: unknown option "--bogus" (see PROG --help)`,
 * `PROG: --qps needs a value (see PROG --help)`. optind_now and optopt_now
 * are getopt's optind and optopt at that moment. */
void cliopt_message(char *buf, size_t len, const char *prog, int ch, char *const *argv,
		    int optind_now, int optopt_now);
/* The same, printed on stderr from getopt's current optind/optopt.
 * Returns CLIOPT_EXIT_USAGE. */
int cliopt_error(const char *prog, int ch, char *const *argv);

#endif
