/* cliopt.c - getopt_long's errors said the same way by every program (unknown option, missing value). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "lib/cliopt.h"

void cliopt_message(char *buf, size_t len, const char *prog, int ch, char *const *argv,
		    int optind_now, int optopt_now)
{
	const char *arg = optind_now > 0 ? argv[optind_now - 1] : "";
	char name[64];

	/* A long option is the word getopt just stepped over (without any
	 * "=value"); a short one is optopt, since inside a cluster ("-nx")
	 * optind has not moved past the word yet. */
	if (strncmp(arg, "--", 2) == 0 && (ch == ':' || optopt_now == 0)) {
		size_t n = strcspn(arg, "=");
		snprintf(name, sizeof(name), "%.*s", (int)(n < 60 ? n : 60), arg);
	} else if (optopt_now > 0 && optopt_now < 127) {
		snprintf(name, sizeof(name), "-%c", optopt_now);
	} else {
		snprintf(name, sizeof(name), "%.60s", arg);
	}
	if (ch == ':')
		snprintf(buf, len, "%s: %s needs a value (see %s --help)", prog, name, prog);
	else
		snprintf(buf, len, "%s: unknown option \"%s\" (see %s --help)", prog, name, prog);
}

int cliopt_error(const char *prog, int ch, char *const *argv)
{
	char msg[256];

	cliopt_message(msg, sizeof(msg), prog, ch, argv, optind, optopt);
	fprintf(stderr, "%s\n", msg);
	return CLIOPT_EXIT_USAGE;
}
