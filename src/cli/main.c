/* main.c - `vspace`: the researcher's tool; dispatches to its subcommands (replay, loadgen, policies, agent, sim, memnet, vf). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "policy/policy.h"

struct cli_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static void cli_policies_usage(FILE *f)
{
	fprintf(f, "usage: vspace policies\n"
		   "\n"
		   "List the controller's policies, with the arguments each takes after its\n"
		   "name (static-ts:20:20). vspace replay --policy, vspace sim --policy and\n"
		   "vspaced's [host] policy= accept these names (vspace sim also es2, sriov).\n"
		   "\n"
		   "Exit status: 0 ok, 2 bad usage.\n");
}

static int cli_policies(int argc, char **argv)
{
	const struct vs_policy_ops *const *all = policy_all();

	if (argc > 1 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
		cli_policies_usage(stdout);
		return 0;
	}
	if (argc > 1) {
		fprintf(stderr, "vspace policies: unexpected argument \"%s\" (takes none)\n",
			argv[1]);
		return 2;
	}
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
	{ "agent", "talk to a guest's vspace-agent (hello, stats, set_vnq, set_vcpus, restore)",
	  agent_main },
	{ "sim", "simulate a 20-core KVM host under any policy (run, sweep, dynamic, ...)",
	  sim_main },
	{ "memnet", "MemNet: shared-memory regions for VMs, their HTTP server and sizing",
	  memnet_main },
	{ "vf", "FlexVF: replay VF strategies, the VF pool, plug/unplug a VF (SPEC §7.2)",
	  vf_main },
	{ NULL, NULL, NULL },
};

static void cli_usage(FILE *f)
{
	fprintf(f, "usage: vspace COMMAND [options]   (vspace COMMAND --help for each)\n"
		   "\n"
		   "The researcher's tool: policies without a host, a simulated host, load for\n"
		   "a real one, and the host side of the guest agent.\n"
		   "\n"
		   "Commands:\n");
	for (int i = 0; cli_commands[i].name; i++)
		fprintf(f, "  %-10s %s\n", cli_commands[i].name, cli_commands[i].summary);
	fprintf(f, "\n"
		   "Exit status: 0 ok, 1 failure at run time, 2 bad usage or input (each\n"
		   "command's --help says more).\n"
		   "\n"
		   "Examples:\n"
		   "  vspace sim dynamic --out out/\n"
		   "  vspace replay --policy vspace-e --cores 20 < "
		   "examples/traces/memcached-ramp.csv\n"
		   "  vspace loadgen --server 127.0.0.1:11211 --qps 20000 --duration 10\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "vspace: missing COMMAND\n\n");
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
	fprintf(stderr, "vspace: unknown %s \"%s\" (see vspace --help)\n",
		argv[1][0] == '-' ? "option" : "command", argv[1]);
	return 2;
}
