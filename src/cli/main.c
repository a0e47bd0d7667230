/* main.c - `vspace`: the researcher's tool (replay; the simulator, load generator and lab join it). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/policy.h"

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static int cli_policies(int argc, char **argv)
{
	const struct vs_policy_ops *const *all = policy_all();

	for (int i = 0; all[i]; i++) {
		char name[64];
		snprintf(name, sizeof(name), "%s%s%s", all[i]->name, all[i]->args_usage ? ":" : "",
			 all[i]->args_usage ? all[i]->args_usage : "");
		printf("%-18s %s\n", name, all[i]->summary);
	}
	return 0;
}

static const struct cli_command cli_commands[] = {
	{ "replay", "feed recorded periods (CSV) through a policy and print its decisions",
	  replay_main },
	{ "loadgen", "open-loop Poisson load for memcached/HTTP: percentiles, p95 reports, search",
	  loadgen_main },
	{ "policies", "list the policies and their arguments", cli_policies },
	{ "agent", "talk to a guest's vspace-agent (hello, stats, set_vnq, set_vcpus)",
	  agent_main },
	{ "sim", "simulate a 20-core KVM host under any policy (run, sweep, dynamic, ...)",
	  sim_main },
	{ NULL, NULL, NULL },
};

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: vspace COMMAND [options]   (vspace COMMAND --help for each)\n\n"
		   "commands:\n");
	for (int i = 0; cli_commands[i].name; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		cli_usage(stderr);
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		cli_usage(stdout);
		return 0;
	}
	for (int i = 0; cli_commands[i].name; i++)
		if (strcmp(argv[1], cli_commands[i].name) == 0)
			return cli_commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vspace: unknown command \"%s\"\n", argv[1]);
	cli_usage(stderr);
	return 2;
}
