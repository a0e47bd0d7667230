/* cli.h - the subcommands of the `vspace` tool. */
#ifndef VS_CLI_CLI_H
#define VS_CLI_CLI_H

#include <stdio.h>

/* Each returns the process exit status: 0 success, 1 failure at run time,
 * 2 bad arguments or bad input. */
int replay_main(int argc, char **argv);
/* `vspace agent`: talk to a guest's vspace-agent (src/cli/agent.c). */
int agent_main(int argc, char **argv);
int loadgen_main(int argc, char **argv);
/* `vspace memnet`: create, serve, ls, replay (src/cli/memnet.c). */
int memnet_main(int argc, char **argv);
/* `vspace sim` (src/cli/sim.c). */
int sim_main(int argc, char **argv);

/* Replay CSV from in to out (the part of `vspace replay` after option
 * parsing; see replay.c). input_name names in in error messages. */
struct replay_opts;
int replay_run(const struct replay_opts *o, FILE *in, const char *input_name, FILE *out);

/* `vspace vf` (src/cli/vf.c): FlexVF's tools - replay, pool, plug, unplug. */
int vf_main(int argc, char **argv);
/* `vspace sim vf` (src/cli/simvf.c): the FlexVF model. */
int simvf_main(int argc, char **argv);

/* `vspace vf replay` (src/cli/vfreplay.c; its heart: src/control/vfreplay.c). */
int vfreplay_main(int argc, char **argv);
/* `vspace vf pool|plug|unplug` (src/cli/vftool.c). */
int vftool_pool_main(int argc, char **argv);
int vftool_plug_main(int argc, char **argv);
int vftool_unplug_main(int argc, char **argv);
void vfreplay_usage(FILE *f);

#endif
