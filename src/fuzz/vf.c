/* vf.c - fuzz target "vf": untrusted bytes to every FlexVF parser of outside input, the first byte picking which. */
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "control/vfreplay.h"
#include "fuzz/fuzz.h"
#include "platform/linux/qmpconn.h"
#include "platform/linux/vfnl.h"
#include "platform/linux/vfplug.h"
#include "platform/linux/vfpool.h"
#include "platform/linux/vfrate.h"

static void fuzz_vf_tally(struct fuzz_count *c, bool parsed)
{
	if (parsed)
		c->parsed++;
	else
		c->refused++;
}

/* `vspace vf replay` input under each strategy (activity with a margin,
 * random with a hold): one unit per strategy, parsed when it exits 0. */
static void fuzz_vf_replay(const uint8_t *data, size_t len, struct fuzz_count *c)
{
	const struct vf_policy_ops *const *all = vf_policy_all();
	FILE *devnull = fopen("/dev/null", "w");
	int saved = dup(2), null = open("/dev/null", O_WRONLY | O_CLOEXEC);

	dup2(null, 2); /* its messages are not the point */
	for (int i = 0; all[i] && devnull; i++) {
		struct vfreplay_opts o = { .ops = all[i], .explain = i == 0 };
		FILE *in = len ? fmemopen((void *)data, len, "r") : fopen("/dev/null", "r");
		vf_params_defaults(&o.params);
		o.params.n_vfs = 1 + i;
		o.params.hysteresis = i == 1 ? 0.25 : 0;
		o.params.min_hold = i == 2 ? 3 : 1;
		if (in) {
			fuzz_vf_tally(c, vfreplay_run(&o, in, "fuzz", devnull) == 0);
			fclose(in);
		}
	}
	dup2(saved, 2);
	close(saved);
	close(null);
	if (devnull)
		fclose(devnull);
}

/* What QEMU says during an unplug with an announcement: parsed when the
 * unplug finished, refused when it failed. */
static void fuzz_vf_qmp(const uint8_t *data, size_t len, struct fuzz_count *c)
{
	struct vfplug_dev d = { .id = "vf0", .standby_nic = "net0" };
	struct vfplug_qmp op;
	struct qmpconn conn;
	enum vfplug_state st = VFPLUG_IDLE;
	uint64_t now = 1;
	int sv[2];

	if (len > (1 << 16) || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return;
	fcntl(sv[0], F_SETFL, O_NONBLOCK);
	qmpconn_init(&conn, "fuzz");
	qmpconn_attach(&conn, sv[0]);
	vfplug_qmp_start(&op, &d, true, 1000, true, now);
	vfplug_qmp_hook(&conn, &op);
	/* a line at a time, the client stepping in between, as QEMU answers what
	 * it was sent; then the end of the stream */
	for (size_t off = 0; off < len && st != VFPLUG_DONE && st != VFPLUG_FAILED;) {
		const uint8_t *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
		if (write(sv[1], data + off, n) != (ssize_t)n)
			break;
		off += n;
		for (int i = 0; i < 3; i++) {
			st = vfplug_qmp_step(&op, &conn, now);
			now += 1000;
		}
	}
	shutdown(sv[1], SHUT_WR);
	for (int i = 0; i < 8 && st != VFPLUG_DONE && st != VFPLUG_FAILED; i++) {
		st = vfplug_qmp_step(&op, &conn, now);
		now += 100000;
	}
	fuzz_vf_tally(c, st == VFPLUG_DONE);
	qmpconn_free(&conn);
	close(sv[1]);
}

void fuzz_vf(const uint8_t *data, size_t size, struct fuzz_count *c)
{
	char err[256], *text;
	struct vfnl_vf *vf;

	if (size < 1)
		return;
	text = malloc(size);
	vf = calloc(VFNL_MAX, sizeof(*vf));
	if (!text || !vf) {
		free(text);
		free(vf);
		return;
	}
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0]) {
	case 'c':
		c->kind = "vf_replay";
		fuzz_vf_replay(data + 1, size - 1, c);
		break;
	case 'n': { /* a PF's netlink answer: an aligned copy of exactly the bytes */
		void *msg = malloc(size - 1 ? size - 1 : 1);
		c->kind = "vf_netlink";
		if (msg) {
			memcpy(msg, data + 1, size - 1);
			fuzz_vf_tally(
				c, vfnl_parse(msg, size - 1, vf, VFNL_MAX, err, sizeof(err)) >= 0);
			free(msg);
		}
		break;
	}
	case 'e':
		c->kind = "vf_emul";
		fuzz_vf_tally(c, vfnl_parse_emul(text, vf, VFNL_MAX, err, sizeof(err)) >= 0);
		break;
	case 'p': { /* sysfs and netlink words: PCI addresses and MACs, one a line */
		unsigned a, b, d, e;
		char mac[18];
		c->kind = "vf_pci_mac";
		for (char *save = NULL, *w = strtok_r(text, "\n", &save); w;
		     w = strtok_r(NULL, "\n", &save))
			fuzz_vf_tally(c, vfpool_parse_pci(w, &a, &b, &d, &e) == 0 ||
						 vfpool_parse_mac(w, mac) == 0);
		break;
	}
	case 'q':
		c->kind = "vf_qmp_unplug";
		fuzz_vf_qmp(data + 1, size - 1, c);
		break;
	case 'a': { /* a guest agent's stats result: each NIC's counters */
		json_t *j = json_loadb((const char *)data + 1, size - 1, 0, NULL);
		const json_t *nics = json_object_get(j, "nics"), *nic;
		size_t i;
		uint64_t rx, tx;
		c->kind = "vf_agent_stats";
		if (!json_is_array(nics))
			c->refused++;
		json_array_foreach(nics, i, nic)
		{
			const char *name = json_string_value(json_object_get(nic, "name"));
			fuzz_vf_tally(c, name && vfrate_agent_packets(j, name, &rx, &tx) == 0);
		}
		json_decref(j);
		break;
	}
	default:
		break;
	}
	free(text);
	free(vf);
}
