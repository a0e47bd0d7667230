/* test_vfpool.c - FlexVF's host readers: the VF pool from a PF's sysfs (fixture sriov-x710), the PF's netlink VF list and counters (hand-built and real kernel messages), per-VM packet rates. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/if_link.h>

#include "lib/nlmsg.h"
#include "platform/linux/sysroot.h"
#include "platform/linux/vfnl.h"
#include "platform/linux/vfpool.h"
#include "platform/linux/vfrate.h"
#include "testutil.h"
#include "platform/scratch.h"

#define FIXTURE "tests/fixtures/sriov-x710/root"

static int teardown(void **state)
{
	return scratch_remove();
}

/* A scratch copy of the fixture (tests that corrupt it). */
static void scratch_copy(char *root, size_t len)
{
	snprintf(cleanup_dir, sizeof(cleanup_dir), "/tmp/vsw-vfpool-XXXXXX");
	assert_non_null(mkdtemp(cleanup_dir));
	assert_int_equal(sh("cp -a %s %s/", FIXTURE, cleanup_dir), 0);
	snprintf(root, len, "%s/root", cleanup_dir);
}

static void test_pool_fixture(void **state)
{
	struct vs_sysroot r;
	struct vfpool *p = calloc(1, sizeof(*p));
	char err[256];

	assert_non_null(p);
	assert_int_equal(sysroot_open(&r, FIXTURE, err, sizeof(err)), 0);
	assert_int_equal(vfpool_read(r.sys_fd, "ens1f0", p, err, sizeof(err)), 4);
	assert_string_equal(p->pf_pci, "0000:3b:00.0");
	assert_int_equal(p->total_vfs, 64);
	assert_int_equal(p->num_vfs, 4);
	for (int i = 0; i < 4; i++) {
		char pci[32];
		snprintf(pci, sizeof(pci), "0000:3b:02.%d", i);
		assert_int_equal(p->vf[i].index, i);
		assert_string_equal(p->vf[i].pci, pci);
	}
	assert_string_equal(p->vf[0].driver, "iavf");
	assert_int_equal(p->vf[0].binding, VFPOOL_HOST);
	assert_string_equal(p->vf[0].netdev, "ens1f0v0");
	assert_string_equal(p->vf[0].mac, "ce:5e:61:0b:2d:30");
	assert_false(p->vf[0].host_up);
	assert_int_equal(p->vf[0].iommu_group, 91);
	assert_int_equal(p->vf[1].binding, VFPOOL_VFIO);
	assert_string_equal(p->vf[1].netdev, "");
	assert_string_equal(p->vf[1].mac, "");
	assert_true(p->vf[2].host_up);
	assert_int_equal(p->vf[3].binding, VFPOOL_UNBOUND);
	assert_string_equal(p->vf[3].driver, "");
	assert_non_null(vfpool_find(p, "0000:3b:02.2"));
	assert_null(vfpool_find(p, "0000:3b:02.7"));
	assert_string_equal(vfpool_binding_name(VFPOOL_VFIO), "vfio");

	/* not a PF */
	assert_int_equal(vfpool_read(r.sys_fd, "eno1", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PF eno1 (0000:00:19.0): no SR-IOV (sriov_totalvfs missing)"));
	assert_int_equal(vfpool_read(r.sys_fd, "lo", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PF lo: not a PCI device"));
	assert_int_equal(vfpool_read(r.sys_fd, "eth9", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PF eth9: no such network interface"));
	assert_int_equal(vfpool_read(r.sys_fd, "../x", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not an interface name"));
	sysroot_close(&r);
	free(p);
}

/* Broken trees: a clear error naming the file, or the odd VF skipped. */
static void test_pool_malformed(void **state)
{
	struct vs_sysroot r;
	struct vfpool *p = calloc(1, sizeof(*p));
	char root[128], err[256];
	const char *dev = "sys/devices/pci0000:3a/0000:3a:00.0/0000:3b:00.0";

	assert_non_null(p);
	scratch_copy(root, sizeof(root));
	assert_int_equal(sysroot_open(&r, root, err, sizeof(err)), 0);
	assert_int_equal(sh("echo lots > %s/%s/sriov_numvfs", root, dev), 0);
	assert_int_equal(vfpool_read(r.sys_fd, "ens1f0", p, err, sizeof(err)), -1);
	assert_non_null(
		strstr(err, "sriov_numvfs missing, malformed or above sriov_totalvfs (64)"));
	assert_int_equal(sh("echo 65 > %s/%s/sriov_numvfs", root, dev), 0);
	assert_int_equal(vfpool_read(r.sys_fd, "ens1f0", p, err, sizeof(err)), -1);
	assert_int_equal(
		sh("echo 0 > %s/%s/sriov_numvfs && rm %s/%s/virtfn*", root, dev, root, dev), 0);
	assert_int_equal(vfpool_read(r.sys_fd, "ens1f0", p, err, sizeof(err)), 0);
	assert_int_equal(p->num_vfs, 0);
	assert_int_equal(sh("ln -s ../not-a-pci-address %s/%s/virtfn0", root, dev), 0);
	assert_int_equal(vfpool_read(r.sys_fd, "ens1f0", p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PF ens1f0: virtfn0 does not link to a PCI address"));
	/* a VF whose directory is gone (removed while read): skipped */
	assert_int_equal(
		sh("rm %s/%s/virtfn0 && ln -s ../0000:3b:03.1 %s/%s/virtfn0", root, dev, root, dev),
		0);
	assert_int_equal(vfpool_read(r.sys_fd, "ens1f0", p, err, sizeof(err)), 0);
	/* junk in the MAC and flags files: not believed */
	assert_int_equal(sh("rm %s/%s/virtfn0 && ln -s ../0000:3b:02.0 %s/%s/virtfn0 && "
			    "echo zz:zz > %s/sys/class/net/ens1f0v0/address && "
			    "echo 0xq > %s/sys/class/net/ens1f0v0/flags",
			    root, dev, root, dev, root, root),
			 0);
	assert_int_equal(vfpool_read(r.sys_fd, "ens1f0", p, err, sizeof(err)), 1);
	assert_string_equal(p->vf[0].mac, "");
	assert_false(p->vf[0].host_up);
	sysroot_close(&r);
	free(p);
}

static void test_parse_pci_mac(void **state)
{
	unsigned d, b, s, f;
	char mac[18];

	assert_int_equal(vfpool_parse_pci("0000:3b:02.7", &d, &b, &s, &f), 0);
	assert_true(d == 0 && b == 0x3b && s == 2 && f == 7);
	assert_int_equal(vfpool_parse_pci("ffff:ff:1f.0", &d, &b, &s, &f), 0);
	assert_true(d == 0xffff && b == 0xff && s == 0x1f);
	const char *bad[] = { "",
			      "0000:3b:02.8",
			      "0000:3b:20.0",
			      "0000:3B:02.0",
			      "000:3b:02.0",
			      "0000:3b:02.0 ",
			      "0000-3b:02.0",
			      "0000:3b:02.x",
			      "00000:3b:02.0" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(vfpool_parse_pci(bad[i], &d, &b, &s, &f), -1);
	assert_int_equal(vfpool_parse_mac("52:54:00:AB:cd:0F", mac), 0);
	assert_string_equal(mac, "52:54:00:ab:cd:0f");
	const char *badmac[] = { "", "52:54:00:ab:cd", "52:54:00:ab:cd:0g", "52-54-00-ab-cd-0f",
				 "52:54:00:ab:cd:0f:" };
	for (size_t i = 0; i < sizeof(badmac) / sizeof(badmac[0]); i++)
		assert_int_equal(vfpool_parse_mac(badmac[i], mac), -1);
}

/* ---- netlink ------------------------------------------------------------------ */

/* A hand-built RTM_NEWLINK as rtnl_fill_vfinfo lays it out (byte by byte,
 * independent of src/lib/nlmsg.c): ifinfomsg, IFLA_IFNAME, then
 * IFLA_VFINFO_LIST with two IFLA_VF_INFO, each IFLA_VF_MAC, an IFLA_VF_VLAN
 * to skip, and (VF 1 only) IFLA_VF_STATS with a PAD attribute. */
struct hb {
	uint8_t b[1024];
	size_t n;
};
static size_t hb_attr(struct hb *m, uint16_t type, const void *data, size_t len)
{
	size_t at = m->n;
	uint16_t l = (uint16_t)(4 + len);
	memcpy(m->b + at, &l, 2);
	memcpy(m->b + at + 2, &type, 2);
	if (len)
		memcpy(m->b + at + 4, data, len);
	m->n = (at + 4 + len + 3) & ~(size_t)3;
	return at;
}
static void hb_close(struct hb *m, size_t at)
{
	uint16_t l = (uint16_t)(m->n - at);
	memcpy(m->b + at, &l, 2);
}
static void hb_u64(struct hb *m, uint16_t type, uint64_t v)
{
	hb_attr(m, type, &v, 8);
}
static size_t build_newlink(struct hb *m)
{
	struct nlmsghdr h = { .nlmsg_type = RTM_NEWLINK, .nlmsg_seq = 7 };
	struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = 4 };
	struct ifla_vf_mac mac = { 0 };
	struct ifla_vf_vlan vlan = { 0 };

	memset(m, 0, sizeof(*m));
	m->n = sizeof(h);
	memcpy(m->b + m->n, &ifi, sizeof(ifi));
	m->n += sizeof(ifi);
	hb_attr(m, IFLA_IFNAME, "ens1f0", 7);
	size_t list = hb_attr(m, IFLA_VFINFO_LIST | NLA_F_NESTED, NULL, 0);
	for (uint32_t vf = 0; vf < 2; vf++) {
		size_t info = hb_attr(m, IFLA_VF_INFO | NLA_F_NESTED, NULL, 0);
		mac.vf = vf;
		memcpy(mac.mac, "\x52\x54\x00\x56\x00", 5);
		mac.mac[5] = (uint8_t)(2 + vf);
		hb_attr(m, IFLA_VF_MAC, &mac, sizeof(mac));
		vlan.vf = vf;
		hb_attr(m, IFLA_VF_VLAN, &vlan, sizeof(vlan));
		if (vf == 1) {
			size_t st = hb_attr(m, IFLA_VF_STATS | NLA_F_NESTED, NULL, 0);
			hb_attr(m, IFLA_VF_STATS_PAD, NULL, 0);
			hb_u64(m, IFLA_VF_STATS_RX_PACKETS, 1204332);
			hb_u64(m, IFLA_VF_STATS_TX_PACKETS, 1187210);
			hb_u64(m, IFLA_VF_STATS_RX_BYTES, 1783010112);
			hb_u64(m, IFLA_VF_STATS_TX_BYTES, 98431220);
			hb_u64(m, IFLA_VF_STATS_BROADCAST, 3);
			hb_u64(m, IFLA_VF_STATS_RX_DROPPED, 11);
			hb_close(m, st);
		}
		hb_close(m, info);
	}
	hb_close(m, list);
	h.nlmsg_len = (uint32_t)m->n;
	memcpy(m->b, &h, sizeof(h));
	return m->n;
}

static void test_netlink_parse(void **state)
{
	struct hb m;
	struct vfnl_vf vf[4];
	char err[160];
	size_t len = build_newlink(&m);

	assert_int_equal(vfnl_parse(m.b, len, vf, 4, err, sizeof(err)), 2);
	assert_int_equal(vf[0].vf, 0);
	assert_string_equal(vf[0].mac, "52:54:00:56:00:02");
	assert_false(vf[0].has_stats);
	assert_int_equal(vf[1].vf, 1);
	assert_string_equal(vf[1].mac, "52:54:00:56:00:03");
	assert_true(vf[1].has_stats);
	assert_true(vf[1].rx_packets == 1204332 && vf[1].tx_packets == 1187210);
	assert_true(vf[1].rx_bytes == 1783010112 && vf[1].tx_bytes == 98431220);
	assert_true(vf[1].rx_dropped == 11);
	/* at most max kept, all counted as parsed */
	assert_int_equal(vfnl_parse(m.b, len, vf, 1, err, sizeof(err)), 1);
	/* every truncation: an error or fewer VFs, never a read past the end
	 * (ASan checks the copy is exactly that long) */
	for (size_t k = 0; k < len; k++) {
		uint8_t *cut = malloc(k ? k : 1);
		assert_non_null(cut);
		memcpy(cut, m.b, k);
		if (k >= 4) { /* keep the header's length honest: the message is k bytes */
			uint32_t l = (uint32_t)k;
			memcpy(cut, &l, 4);
		}
		int n = vfnl_parse(cut, k, vf, 4, err, sizeof(err));
		assert_true(n <= 2);
		free(cut);
	}
	/* a message not RTM_NEWLINK; an attribute whose length runs past the message */
	struct nlmsghdr *h = (struct nlmsghdr *)m.b;
	h->nlmsg_type = RTM_NEWADDR;
	assert_int_equal(vfnl_parse(m.b, len, vf, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "not RTM_NEWLINK"));
	len = build_newlink(&m);
	uint16_t huge = 0xfff0;
	memcpy(m.b + sizeof(struct nlmsghdr) + sizeof(struct ifinfomsg), &huge, 2);
	assert_int_equal(vfnl_parse(m.b, len, vf, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "malformed attribute in RTM_NEWLINK"));
	/* IFLA_VF_MAC too short */
	len = build_newlink(&m);
	for (size_t i = 0; i + 4 < len; i += 4) {
		uint16_t l, t;
		memcpy(&l, m.b + i, 2);
		memcpy(&t, m.b + i + 2, 2);
		if (t == IFLA_VF_MAC && l == 4 + sizeof(struct ifla_vf_mac)) {
			l = 8;
			memcpy(m.b + i, &l, 2);
			break;
		}
	}
	assert_int_equal(vfnl_parse(m.b, len, vf, 4, err, sizeof(err)), -1);
}

/* The builder makes the same layout the hand-built message has. */
static void test_netlink_build(void **state)
{
	char buf[256];
	struct vfnl_vf vf[2];
	char err[160];
	int n = vfnl_set_mac_msg(buf, sizeof(buf), "ens1f0", 3, "52:54:00:56:00:0A", 9);
	struct nlmsghdr *h = (struct nlmsghdr *)buf;
	size_t alen, off = 0, loff = 0, ioff = 0;
	const struct rtattr *a, *info, *mac;
	struct ifla_vf_mac m;

	assert_true(n > 0);
	assert_int_equal(h->nlmsg_type, RTM_SETLINK);
	assert_int_equal(h->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
	const void *attrs = nlmsg_attrs(h, sizeof(struct ifinfomsg), &alen);
	assert_non_null(attrs);
	a = nlmsg_attr_next(attrs, alen, &off);
	assert_int_equal(nlmsg_attr_type(a), IFLA_IFNAME);
	assert_string_equal(nlmsg_attr_data(a), "ens1f0");
	a = nlmsg_attr_next(attrs, alen, &off);
	assert_int_equal(nlmsg_attr_type(a), IFLA_VFINFO_LIST);
	assert_true(a->rta_type & NLA_F_NESTED);
	info = nlmsg_attr_next(nlmsg_attr_data(a), nlmsg_attr_len(a), &loff);
	assert_int_equal(nlmsg_attr_type(info), IFLA_VF_INFO);
	mac = nlmsg_attr_next(nlmsg_attr_data(info), nlmsg_attr_len(info), &ioff);
	assert_int_equal(nlmsg_attr_type(mac), IFLA_VF_MAC);
	assert_int_equal(nlmsg_attr_len(mac), sizeof(m));
	memcpy(&m, nlmsg_attr_data(mac), sizeof(m));
	assert_int_equal(m.vf, 3);
	assert_memory_equal(m.mac, "\x52\x54\x00\x56\x00\x0a", 6);
	assert_null(nlmsg_attr_next(attrs, alen, &off));
	assert_int_equal((int)h->nlmsg_len, n);
	/* turn it into an RTM_NEWLINK: the parser reads what the builder wrote */
	h->nlmsg_type = RTM_NEWLINK;
	assert_int_equal(vfnl_parse(buf, (size_t)n, vf, 2, err, sizeof(err)), 1);
	assert_string_equal(vf[0].mac, "52:54:00:56:00:0a");
	assert_int_equal(vfnl_set_mac_msg(buf, sizeof(buf), "ens1f0", 3, "52:54:00", 9), -1);
	assert_int_equal(vfnl_set_mac_msg(buf, 40, "ens1f0", 3, "52:54:00:56:00:0a", 9), -1);
}

/* The real kernel's RTM_NEWLINK for lo (a device without VFs): parsed, 0 VFs.
 * The PF query path end to end, with the answer of this machine's kernel. */
static void test_netlink_live(void **state)
{
	struct vs_sysroot r;
	struct vfnl_vf vf[4];
	char err[256];
	int fd = vfnl_socket();

	assert_true(fd >= 0);
	assert_int_equal(sysroot_open(&r, "/", err, sizeof(err)), 0);
	assert_int_equal(vfnl_query(&r, fd, "lo", vf, 4, err, sizeof(err)), 0);
	assert_int_equal(vfnl_query(&r, fd, "vsw-nonexistent", vf, 4, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PF vsw-nonexistent: RTM_GETLINK: No such device"));
	/* and setting a VF MAC on a device without VFs is refused by the kernel */
	assert_true(vfnl_set_mac(&r, fd, "lo", 0, "52:54:00:00:00:01", err, sizeof(err)) < 0);
	sysroot_close(&r);
	close(fd);
}

static void test_netlink_emul(void **state)
{
	struct vs_sysroot r;
	struct vfnl_vf vf[8];
	char root[128], err[256];

	scratch_copy(root, sizeof(root));
	assert_int_equal(sysroot_open(&r, root, err, sizeof(err)), 0);
	assert_int_equal(vfnl_query(&r, -1, "ens1f0", vf, 8, err, sizeof(err)), 4);
	assert_string_equal(vf[1].mac, "52:54:00:56:00:02");
	assert_true(vf[1].rx_packets == 1204332 && vf[1].tx_bytes == 98431220);
	assert_int_equal(vfnl_set_mac(&r, -1, "ens1f0", 2, "52:54:00:56:00:07", err, sizeof(err)),
			 0);
	assert_int_equal(vfnl_query(&r, -1, "ens1f0", vf, 8, err, sizeof(err)), 4);
	assert_string_equal(vf[2].mac, "52:54:00:56:00:07");
	assert_int_equal(vf[2].rx_packets, 331);
	assert_true(vfnl_set_mac(&r, -1, "ens1f0", 9, "52:54:00:56:00:07", err, sizeof(err)) < 0);
	assert_non_null(strstr(err, "PF ens1f0 has no VF 9"));
	assert_int_equal(vfnl_query(&r, -1, "eno1", vf, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "PF eno1: no VF information"));
	assert_int_equal(
		sh("echo '0 52:54:00:56:00:02 1 2 3' > %s/.vspace-emul/vfinfo/ens1f0", root), 0);
	assert_int_equal(vfnl_query(&r, -1, "ens1f0", vf, 8, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "vfinfo/ens1f0: line 1: expected"));
	sysroot_close(&r);
}

/* ---- rates ----------------------------------------------------------------------- */

static void test_rates(void **state)
{
	struct vs_sysroot r;
	struct vfrate_ctr c = { 0 };
	uint64_t rx, tx;
	char err[256];
	json_error_t je;
	json_t *st;

	assert_int_equal(sysroot_open(&r, FIXTURE, err, sizeof(err)), 0);
	assert_int_equal(vfrate_netdev_packets(r.sys_fd, "ens1f0v2", &rx, &tx), 0);
	assert_true(rx == 2007 && tx == 2005);
	assert_int_equal(vfrate_netdev_packets(r.sys_fd, "eth9", &rx, &tx), -1);
	assert_int_equal(vfrate_netdev_packets(r.sys_fd, "../../etc", &rx, &tx), -1);
	sysroot_close(&r);

	assert_true(vfrate_feed(&c, 1000, 1000000000) < 0); /* first reading */
	assert_true(vfrate_feed(&c, 1500, 1500000000) == 1000.0);
	assert_true(vfrate_feed(&c, 100, 2500000000) < 0); /* reset */
	assert_true(vfrate_feed(&c, 400, 3500000000) == 300.0);
	assert_true(vfrate_feed(&c, 500, 3500000000) < 0); /* no time passed */

	st = json_loads(
		"{\"nics\":[{\"name\":\"eth0\",\"packets\":[10,20]},"
		"{\"name\":\"eth2\",\"packets\":[5,-1]},{\"name\":\"eth3\",\"packets\":\"x\"},"
		"{\"name\":\"eth4\",\"packets\":[1,2,3]}]}",
		0, &je);
	assert_non_null(st);
	assert_int_equal(vfrate_agent_packets(st, "eth0", &rx, &tx), 0);
	assert_true(rx == 10 && tx == 20);
	assert_int_equal(vfrate_agent_packets(st, "eth2", &rx, &tx), -1);
	assert_int_equal(vfrate_agent_packets(st, "eth3", &rx, &tx), -1);
	assert_int_equal(vfrate_agent_packets(st, "eth4", &rx, &tx), -1);
	assert_int_equal(vfrate_agent_packets(st, "eth9", &rx, &tx), -1);
	json_decref(st);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(test_pool_fixture, teardown),
		cmocka_unit_test_teardown(test_pool_malformed, teardown),
		cmocka_unit_test(test_parse_pci_mac),
		cmocka_unit_test(test_netlink_parse),
		cmocka_unit_test(test_netlink_build),
		cmocka_unit_test(test_netlink_live),
		cmocka_unit_test_teardown(test_netlink_emul, teardown),
		cmocka_unit_test(test_rates),
	};
	return VS_RUN_TESTS(tests);
}
