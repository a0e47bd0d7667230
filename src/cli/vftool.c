/* vftool.c - `vspace vf pool|plug|unplug`: list a PF's VFs, hot-plug a VF (or a stand-in NIC) into a VM and take it out, over QMP or libvirt. */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <string.h>

#include "cli/cli.h"
#include "lib/cliopt.h"
#include "lib/strutil.h"
#include "platform/linux/sysroot.h"
#include "platform/linux/vfnl.h"
#include "platform/linux/vfplug.h"
#include "platform/linux/vfpool.h"
#include "platform/linux/virt.h"

/* Default wait for the guest to release an unplugged device. */
#define VFTOOL_UNPLUG_TIMEOUT_MS 10000

static void vftool_pool_usage(FILE *f)
{
	fprintf(f,
		"usage: vspace vf pool --pf IF [--sysroot DIR]\n"
		"\n"
		"List the SR-IOV VFs of PF IF as the host has them: per VF its number, PCI\n"
		"address, driver binding (host, vfio, unbound), host netdev and whether it is up\n"
		"(in use on the host), MAC and packet counters as the PF reports them over\n"
		"netlink (IFLA_VF_MAC, IFLA_VF_STATS).\n"
		"\n"
		"Options:\n"
		"  --pf IF         the PF (its sysfs class/net/IF/device must have "
		"sriov_totalvfs)\n"
		"  --sysroot DIR   read DIR/sys and DIR/.vspace-emul/vfinfo/IF (fixture trees)\n"
		"  -h, --help      this text\n"
		"\n"
		"Exit status: 0 ok, 1 the PF cannot be read, 2 bad usage.\n"
		"\n"
		"Example:\n"
		"  vspace vf pool --pf ens1f0 --sysroot tests/fixtures/sriov-x710/root\n");
}

static int vftool_pool(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "pf", required_argument, NULL, 'p' },
		{ "sysroot", required_argument, NULL, 'r' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pf = NULL, *root = "/";
	struct vfnl_vf *nl = calloc(VFNL_MAX, sizeof(*nl));
	struct vfpool *p = calloc(1, sizeof(*p));
	struct vs_sysroot r;
	char err[256], nlerr[256] = "";
	int ch, n, n_nl = -1, rc = 1;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			pf = optarg;
			break;
		case 'r':
			root = optarg;
			break;
		case 'h':
			vftool_pool_usage(stdout);
			free(nl);
			free(p);
			return 0;
		default:
			free(nl);
			free(p);
			return cliopt_error("vspace vf pool", ch, argv);
		}
	}
	if (!pf || optind < argc) {
		fprintf(stderr, "vspace vf pool: %s (see --help)\n",
			pf ? "unexpected argument" : "--pf is required");
		free(nl);
		free(p);
		return 2;
	}
	if (!nl || !p || sysroot_open(&r, root, err, sizeof(err)) < 0) {
		fprintf(stderr, "vspace vf pool: %s\n", nl && p ? err : "out of memory");
		free(nl);
		free(p);
		return 1;
	}
	n = vfpool_read(r.sys_fd, pf, p, err, sizeof(err));
	if (n < 0) {
		fprintf(stderr, "vspace vf pool: %s\n", err);
		goto out;
	}
	{
		int fd = r.live ? vfnl_socket() : -1;
		n_nl = vfnl_query(&r, fd, pf, nl, VFNL_MAX, nlerr, sizeof(nlerr));
		if (fd >= 0)
			close(fd);
	}
	printf("PF %s (%s): %d of %d VFs enabled\n", p->pf, p->pf_pci, p->num_vfs, p->total_vfs);
	if (n_nl < 0)
		printf("  (no netlink VF information: %s)\n", nlerr);
	printf("%-3s %-13s %-8s %-10s %-16s %-17s %12s %12s\n", "vf", "pci", "binding", "driver",
	       "netdev", "mac", "rx_packets", "tx_packets");
	for (int i = 0; i < p->n; i++) {
		const struct vfpool_vf *vf = &p->vf[i];
		const struct vfnl_vf *x = NULL;
		char netdev[32];
		for (int k = 0; k < n_nl; k++)
			if (nl[k].vf == vf->index)
				x = &nl[k];
		snprintf(netdev, sizeof(netdev), "%s%s", vf->netdev[0] ? vf->netdev : "-",
			 vf->host_up ? " (up)" : "");
		printf("%-3d %-13s %-8s %-10s %-16s %-17s", vf->index, vf->pci,
		       vfpool_binding_name(vf->binding), vf->driver[0] ? vf->driver : "-", netdev,
		       vf->mac[0] ? vf->mac : (x && x->mac[0] ? x->mac : "-"));
		if (x && x->has_stats)
			printf(" %12" PRIu64 " %12" PRIu64 "\n", x->rx_packets, x->tx_packets);
		else
			printf(" %12s %12s\n", "-", "-");
	}
	rc = 0;
out:
	sysroot_close(&r);
	free(nl);
	free(p);
	return rc;
}

static void vftool_plug_usage(FILE *f, bool unplug)
{
	if (!unplug)
		fprintf(f,
			"usage: vspace vf plug (--qmp SOCKET | --libvirt URI --domain NAME) --id "
			"ID\n"
			"           --mac MAC (--vf PCI | --nic MODEL --netdev NETDEV)\n"
			"           [--standby ID] [--bus PORT]\n"
			"\n"
			"Hot-plug a VF (vfio-pci) into a running VM as the failover primary of "
			"its\n"
			"virtio-net standby, or a stand-in NIC model (QMP only: e1000e) on a QEMU\n"
			"netdev. The VF must carry the standby's MAC (over QMP set it first: ip "
			"link\n"
			"set PF vf N mac MAC; libvirt sets it from --mac). Prints how long QEMU "
			"or\n"
			"libvirt took to accept it; the guest's driver then brings it up.\n"
			"\n"
			"Options:\n"
			"  --qmp SOCKET       the VM's QMP socket (QEMU without libvirt)\n"
			"  --libvirt URI      a libvirt connection (qemu:///system) and --domain "
			"NAME\n"
			"  --id ID            the device id (libvirt alias: ua-ID)\n"
			"  --mac MAC          the VM's virtio-net standby MAC\n"
			"  --vf PCI           the VF's PCI address (DDDD:BB:DD.F): -device "
			"vfio-pci,host=\n"
			"  --nic MODEL        a stand-in NIC model instead (QMP), with --netdev "
			"NETDEV\n"
			"  --standby ID       the virtio-net's id (QMP failover_pair_id) or its "
			"libvirt\n"
			"                     alias (teaming persistent=); none: no failover pair "
			"(the\n"
			"                     guest's vspace-agent bonds the NICs)\n"
			"  --bus PORT         a free pcie-root-port's id (QMP)\n"
			"  -h, --help         this text\n"
			"\n"
			"Exit status: 0 plugged (or already there), 1 refused or timed out, 2 bad "
			"usage.\n"
			"\n"
			"Example:\n"
			"  vspace vf plug --qmp /run/web.qmp --id vf0 --vf 0000:3b:02.1 \\\n"
			"      --mac 52:54:00:56:00:02 --standby net0 --bus rp1\n");
	else
		fprintf(f,
			"usage: vspace vf unplug (--qmp SOCKET | --libvirt URI --domain NAME) --id "
			"ID\n"
			"           [--announce NIC] [--timeout-ms MS] [libvirt: --vf PCI --mac "
			"MAC]\n"
			"\n"
			"Take a hot-plugged VF out of a running VM and wait until the guest "
			"released it\n"
			"(QMP: the DEVICE_DELETED event; libvirt: the alias leaves the live XML). "
			"Prints\n"
			"the time from the request to the device being gone.\n"
			"\n"
			"Options:\n"
			"  --qmp SOCKET, --libvirt URI --domain NAME, --id ID   as for plug\n"
			"  --announce NIC     then QMP announce-self on NIC (the virtio-net "
			"standby's\n"
			"                     id): a learning switch moves the VM's MAC back to "
			"the PV\n"
			"                     path at once\n"
			"  --timeout-ms MS    wait at most MS for the guest (default %d)\n"
			"  --vf PCI --mac MAC libvirt: the interface to detach\n"
			"  -h, --help         this text\n"
			"\n"
			"Exit status: 0 gone (or was not there), 1 refused or timed out, 2 bad "
			"usage.\n",
			VFTOOL_UNPLUG_TIMEOUT_MS);
}

static int vftool_plug(int argc, char **argv, bool unplug)
{
	enum {
		O_QMP = 256,
		O_VIRT,
		O_DOM,
		O_ID,
		O_MAC,
		O_VF,
		O_NIC,
		O_NETDEV,
		O_STANDBY,
		O_BUS,
		O_ANNOUNCE,
		O_TIMEOUT
	};
	static const struct option longopts[] = {
		{ "qmp", required_argument, NULL, O_QMP },
		{ "libvirt", required_argument, NULL, O_VIRT },
		{ "domain", required_argument, NULL, O_DOM },
		{ "id", required_argument, NULL, O_ID },
		{ "mac", required_argument, NULL, O_MAC },
		{ "vf", required_argument, NULL, O_VF },
		{ "nic", required_argument, NULL, O_NIC },
		{ "netdev", required_argument, NULL, O_NETDEV },
		{ "standby", required_argument, NULL, O_STANDBY },
		{ "bus", required_argument, NULL, O_BUS },
		{ "announce", required_argument, NULL, O_ANNOUNCE },
		{ "timeout-ms", required_argument, NULL, O_TIMEOUT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *prog = unplug ? "vspace vf unplug" : "vspace vf plug";
	const char *qmp = NULL, *uri = NULL, *dom = NULL;
	struct vfplug_dev d;
	char err[256];
	long timeout_ms = VFTOOL_UNPLUG_TIMEOUT_MS;
	int ch;

	memset(&d, 0, sizeof(d));
	str_copy(d.driver, "vfio-pci", sizeof(d.driver));
	optind = 1;
	opterr = 0;
	int li = 0;
	while ((ch = getopt_long(argc, argv, ":h", longopts, &li)) != -1) {
		char *dst = NULL;
		size_t len = 0;
		switch (ch) {
		case O_QMP:
			qmp = optarg;
			break;
		case O_VIRT:
			uri = optarg;
			break;
		case O_DOM:
			dom = optarg;
			break;
		case O_ID:
			dst = d.id, len = sizeof(d.id);
			break;
		case O_MAC:
			dst = d.mac, len = sizeof(d.mac);
			break;
		case O_VF:
			dst = d.host_pci, len = sizeof(d.host_pci);
			break;
		case O_NIC:
			dst = d.driver, len = sizeof(d.driver);
			break;
		case O_NETDEV:
			dst = d.netdev, len = sizeof(d.netdev);
			break;
		case O_STANDBY:
			dst = d.standby, len = sizeof(d.standby);
			break;
		case O_BUS:
			dst = d.bus, len = sizeof(d.bus);
			break;
		case O_ANNOUNCE:
			dst = d.standby_nic, len = sizeof(d.standby_nic);
			break;
		case O_TIMEOUT:
			if (str_to_long(optarg, 1, 600000, &timeout_ms) < 0) {
				fprintf(stderr,
					"%s: --timeout-ms: \"%s\" is not a whole number in "
					"[1, 600000]\n",
					prog, optarg);
				return 2;
			}
			break;
		case 'h':
			vftool_plug_usage(stdout, unplug);
			return 0;
		default:
			return cliopt_error(prog, ch, argv);
		}
		if (dst && str_copy(dst, optarg, len) >= len) {
			fprintf(stderr, "%s: --%s: \"%.40s\" is too long (at most %zu bytes)\n",
				prog, longopts[li].name, optarg, len - 1);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "%s: unexpected argument \"%s\"\n", prog, argv[optind]);
		return 2;
	}
	if (!!qmp == !!uri || (uri && !dom) || !d.id[0]) {
		fprintf(stderr,
			"%s: --id and one of --qmp SOCKET or --libvirt URI --domain NAME "
			"are required (see --help)\n",
			prog);
		return 2;
	}
	if (vfplug_dev_check(&d, uri != NULL, unplug, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s: %s\n", prog, err);
		return 2;
	}
	if (qmp) {
		struct qmpconn c;
		struct vfplug_qmp op;
		int rc;

		qmpconn_init(&c, qmp);
		vfplug_qmp_start(&op, &d, unplug, (int)timeout_ms, d.standby_nic[0] != '\0',
				 qmpconn_now_us());
		vfplug_qmp_hook(&c, &op);
		rc = vfplug_qmp_run(&op, &c);
		qmpconn_free(&c);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", prog, op.err);
			return 1;
		}
		if (!unplug)
			printf("%s: %s %s: device_add accepted after %.1f ms\n", prog, d.id,
			       op.was_absent ? "was already there" : "plugged",
			       (double)(op.acked_us - op.start_us) / 1000);
		else if (op.was_absent)
			printf("%s: %s was not there\n", prog, d.id);
		else
			printf("%s: %s gone after %.1f ms (device_del accepted after %.1f "
			       "ms)%s%s\n",
			       prog, d.id, (double)(op.gone_us - op.start_us) / 1000,
			       (double)(op.acked_us - op.start_us) / 1000,
			       op.announce ? (op.err[0] ? "; " : "; announced on ") : "",
			       op.announce ? (op.err[0] ? op.err : d.standby_nic) : "");
		return 0;
	}
	{
		struct vs_virt *v;
		uint64_t t0 = qmpconn_now_us();
		int rc;

		if (virt_open(&v, uri, err, sizeof(err)) < 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return 1;
		}
		rc = unplug ? vfplug_libvirt_detach(v, dom, &d, (int)timeout_ms, err, sizeof(err))
			    : vfplug_libvirt_attach(v, dom, &d, err, sizeof(err));
		virt_close(v);
		if (rc < 0) {
			fprintf(stderr, "%s: %s\n", prog, err);
			return 1;
		}
		printf("%s: %s %s after %.1f ms\n", prog, d.id, unplug ? "gone" : "attached",
		       (double)(qmpconn_now_us() - t0) / 1000);
		return 0;
	}
}

int vftool_pool_main(int argc, char **argv)
{
	return vftool_pool(argc, argv);
}

int vftool_plug_main(int argc, char **argv)
{
	return vftool_plug(argc, argv, false);
}

int vftool_unplug_main(int argc, char **argv)
{
	return vftool_plug(argc, argv, true);
}
