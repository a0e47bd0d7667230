/* vffuzz.c - one entry point feeding untrusted bytes to every FlexVF parser of outside input (the fuzz target src/fuzz/fuzz_vf.c and its corpus test). */
#include "cli/vffuzz.h"

#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cli/cli.h"
#include "platform/linux/qmpconn.h"
#include "platform/linux/vfnl.h"
#include "platform/linux/vfplug.h"
#include "platform/linux/vfpool.h"
#include "platform/linux/vfrate.h"

/* `vspace vf replay` input under each strategy, with a margin and a hold. */
static void vffuzz_replay(const uint8_t *data, size_t len)
{
	const struct vf_policy_ops *const *all = vf_policy_all();
	FILE *devnull = fopen("/dev/null", "w");

	for (int i = 0; all[i] && devnull; i++) {
		struct vfreplay_opts o = { .ops = all[i], .explain = i == 0 };
		FILE *in = fmemopen((void *)data, len ? len : 1, "r");
		vf_params_defaults(&o.params);
		o.params.n_vfs = 1 + i;
		o.params.hysteresis = i == 1 ? 0.25 : 0;
		o.params.min_hold = i == 2 ? 3 : 1;
		if (in) {
			int saved = dup(2), null = open("/dev/null", O_WRONLY);
			dup2(null, 2); /* its messages are not the point */
			vfreplay_run(&o, in, "fuzz", devnull);
			dup2(saved, 2);
			close(saved);
			close(null);
			fclose(in);
		}
	}
	if (devnull)
		fclose(devnull);
}

/* What QEMU says during an unplug with an announcement. */
static void vffuzz_qmp(const uint8_t *data, size_t len)
{
	struct vfplug_dev d = { .id = "vf0", .standby_nic = "net0" };
	struct vfplug_qmp op;
	struct qmpconn c;
	uint64_t now = 1;
	int sv[2];

	if (len > (1 << 16) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	qmpconn_init(&c, "fuzz");
	qmpconn_attach(&c, sv[0]);
	vfplug_qmp_start(&op, &d, true, 1000, true, now);
	vfplug_qmp_hook(&c, &op);
	if (write(sv[1], data, len) == (ssize_t)len) {
		shutdown(sv[1], SHUT_WR);
		for (int i = 0; i < 64; i++) {
			enum vfplug_state st = vfplug_qmp_step(&op, &c, now);
			if (st == VFPLUG_DONE || st == VFPLUG_FAILED)
				break;
			now += 100000;
		}
	}
	qmpconn_free(&c);
	close(sv[1]);
}

int vffuzz_one(const uint8_t *data, size_t len)
{
	char err[256], *text;
	struct vfnl_vf *vf;

	if (len < 1)
		return 0;
	text = malloc(len);
	vf = calloc(VFNL_MAX, sizeof(*vf));
	if (!text || !vf) {
		free(text);
		free(vf);
		return 0;
	}
	memcpy(text, data + 1, len - 1);
	text[len - 1] = '\0';
	switch (data[0]) {
	case 'c':
		vffuzz_replay(data + 1, len - 1);
		break;
	case 'n': { /* a netlink answer: an aligned copy of exactly the bytes */
		void *msg = malloc(len - 1 ? len - 1 : 1);
		if (msg) {
			memcpy(msg, data + 1, len - 1);
			vfnl_parse(msg, len - 1, vf, VFNL_MAX, err, sizeof(err));
			free(msg);
		}
		break;
	}
	case 'e':
		vfnl_parse_emul(text, vf, VFNL_MAX, err, sizeof(err));
		break;
	case 'p': { /* sysfs words: PCI addresses and MACs, one per line */
		unsigned a, b, c, d;
		char mac[18];
		for (char *save = NULL, *w = strtok_r(text, "\n", &save); w;
		     w = strtok_r(NULL, "\n", &save)) {
			vfpool_parse_pci(w, &a, &b, &c, &d);
			vfpool_parse_mac(w, mac);
		}
		break;
	}
	case 'q':
		vffuzz_qmp(data + 1, len - 1);
		break;
	case 'a': { /* a guest agent's stats result */
		json_t *j = json_loadb((const char *)data + 1, len - 1, 0, NULL);
		uint64_t rx, tx;
		vfrate_agent_packets(j, "eth0", &rx, &tx);
		vfrate_agent_packets(j, "eth2", &rx, &tx);
		json_decref(j);
		break;
	}
	default:
		break;
	}
	free(text);
	free(vf);
	return 0;
}
