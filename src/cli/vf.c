/* vf.c - `vspace vf`: FlexVF's tools (replay a strategy, list a PF's VF pool, plug or unplug a VF). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

struct vf_command {
	const char *name;
	const char *summary;
	int (*run)(int argc, char **argv);
};

static const struct vf_command vf_commands[] = {
	{ "replay", "feed per-VM packet rates (CSV) through a strategy; print the grants",
	  vfreplay_main },
	{ "pool", "list a PF's VFs: address, binding, host netdev, MAC, counters",
	  vftool_pool_main },
	{ "plug", "hot-plug a VF (or a stand-in NIC) into a running VM (QMP or libvirt)",
	  vftool_plug_main },
	{ "unplug", "take it out again and wait until the guest released it", vftool_unplug_main },
	{ NULL, NULL, NULL },
};

static void vf_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace vf COMMAND [options]   (vspace vf COMMAND --help for each)\n"
		"\n"
		"FlexVF (SPEC §7.2): a host's few SR-IOV VFs go to the VMs that gain most; each "
		"VM\n"
		"keeps its para-virtual NIC and, while granted, a VF joined to it in the guest.\n"
		"vspaced does this on its own ([vf] in its configuration); these are the tools.\n"
		"\n"
		"Commands:\n");
	for (int i = 0; vf_commands[i].name; i++)
		fprintf(f, "  %-8s %s\n", vf_commands[i].name, vf_commands[i].summary);
	fprintf(f, "\n"
		   "Exit status: 0 ok, 1 failure at run time, 2 bad usage or input.\n");
}

int vf_main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "vspace vf: missing COMMAND (see vspace vf --help)\n");
		return 2;
	}
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		vf_usage(stdout);
		return 0;
	}
	for (int i = 0; vf_commands[i].name; i++)
		if (strcmp(argv[1], vf_commands[i].name) == 0)
			return vf_commands[i].run(argc - 1, argv + 1);
	fprintf(stderr, "vspace vf: unknown %s \"%s\" (see vspace vf --help)\n",
		argv[1][0] == '-' ? "option" : "command", argv[1]);
	return 2;
}
