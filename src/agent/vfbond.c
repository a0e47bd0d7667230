/* vfbond.c - FlexVF in a guest without virtio-net failover: an active-backup bond of the PV NIC and a hot-plugged VF, built when the VF appears and released when it goes. */
#include "agent/agent.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/strutil.h"

/*
 * The bonding driver's sysfs interface (Documentation/networking/bonding.rst,
 * "Configuring Bonding Manually via Sysfs"):
 *   class/net/bonding_masters     "+NAME" makes a bond, "-NAME" deletes it
 *   class/net/NAME/bonding/mode   "active-backup" (before any slave)
 *   class/net/NAME/bonding/miimon link checks, ms
 *   class/net/NAME/bonding/slaves "+IF" enslaves, "-IF" releases
 *   class/net/NAME/bonding/primary the slave preferred while its link is up
 * The first slave gives the bond its MAC: the standby goes first, so the
 * guest's MAC does not change; the VF carries the same MAC (the host plugs
 * it so). Addresses and routes stay with the IP configuration: they move
 * from the standby to the bond and back. The bond gets arp_notify and
 * ndisc_notify, so that each change of its active slave is announced to the
 * switches (bonding notifies its peers then).
 */

/* Link monitoring interval, ms (bonding.rst suggests 100). */
#define VFBOND_MIIMON_MS "100"

static int vfbond_sysfs(struct agent *a, const char *file, const char *value)
{
	char path[96];

	if (strcmp(file, "bonding_masters") == 0)
		snprintf(path, sizeof(path), "sys/class/net/bonding_masters");
	else
		snprintf(path, sizeof(path), "sys/class/net/%s/bonding/%s", AGENT_BOND_NAME, file);
	if (a->dry_run) {
		log_info("dry run: would write \"%s\" to /%s", value, path);
		return 0;
	}
	return guest_write_raw(a, path, value) < 0 ? -errno : 0;
}

static int vfbond_fail(struct agent *a, const char *what, int rc)
{
	snprintf(a->vfb.last_error, sizeof(a->vfb.last_error), "%s: %s", what, strerror(-rc));
	if (!a->vfb.error_logged)
		log_warnx("vf bond: %s", a->vfb.last_error);
	a->vfb.error_logged = true;
	return -1;
}

/* Move from's addresses and routes to to (from has them now). */
static int vfbond_move(struct agent *a, const char *from, const char *to)
{
	struct agent_ipaddr ad[AGENT_BOND_ADDRS];
	struct agent_route rt[AGENT_BOND_ROUTES];
	int na, nr, rc;

	if (a->dry_run)
		return 0;
	na = a->ops->addrs(a->ops_arg, from, ad, AGENT_BOND_ADDRS);
	nr = a->ops->routes(a->ops_arg, from, rt, AGENT_BOND_ROUTES);
	if (na < 0 || nr < 0)
		return na < 0 ? na : nr;
	for (int i = 0; i < na; i++) {
		a->ops->addr(a->ops_arg, from, &ad[i], false);
		rc = a->ops->addr(a->ops_arg, to, &ad[i], true);
		if (rc < 0)
			return rc;
	}
	/* the kernel dropped from's routes with its addresses; they go on to */
	for (int i = 0; i < nr; i++) {
		rc = a->ops->route_add(a->ops_arg, to, &rt[i]);
		if (rc < 0 && rc != -EEXIST)
			return rc;
	}
	return 0;
}

/* A NIC that is the VF for the standby: another physical NIC, not enslaved,
 * with the standby's MAC. */
static bool vfbond_is_vf(struct agent *a, const char *n, const struct agent_nic_info *sb)
{
	struct agent_nic_info in;
	char path[96];

	if (strcmp(n, a->vfb.standby) == 0 || strcmp(n, AGENT_BOND_NAME) == 0)
		return false;
	snprintf(path, sizeof(path), "sys/class/net/%.16s/device", n);
	if (faccessat(a->root_fd, path, F_OK, 0) != 0)
		return false; /* virtual: a bond, a bridge, a veth */
	if (guest_nic_info(a, n, &in) < 0 || in.master[0] || !sb->mac[0])
		return false;
	return strcmp(in.mac, sb->mac) == 0;
}

static int vfbond_build(struct agent *a, const char *vf)
{
	const char *sb = a->vfb.standby;
	char cmd[32];
	int rc;

	log_info("vf bond: %s appeared with %s's MAC: bonding them as %s (active-backup, primary "
		 "%s)",
		 vf, sb, AGENT_BOND_NAME, vf);
	rc = vfbond_sysfs(a, "bonding_masters", "+" AGENT_BOND_NAME);
	if (rc < 0)
		return vfbond_fail(
			a, "creating " AGENT_BOND_NAME " (is the bonding driver loaded?)", rc);
	a->vfb.built = true;
	if ((rc = vfbond_sysfs(a, "mode", "active-backup")) < 0 ||
	    (rc = vfbond_sysfs(a, "miimon", VFBOND_MIIMON_MS)) < 0)
		return vfbond_fail(a, "configuring " AGENT_BOND_NAME, rc);
	/* the standby first (the bond takes its MAC), then the addresses follow */
	if (!a->dry_run)
		a->ops->link_up(a->ops_arg, sb, false);
	snprintf(cmd, sizeof(cmd), "+%.16s", sb);
	if ((rc = vfbond_sysfs(a, "slaves", cmd)) < 0)
		return vfbond_fail(a, "enslaving the standby", rc);
	/* announce the bond's addresses at each change of the active slave, so that
	 * switches learn the new path at once (ip-sysctl.rst: arp_notify, ndisc_notify;
	 * bonding notifies its peers on failover); best effort */
	if (!a->dry_run) {
		if (guest_write_raw(a, "proc/sys/net/ipv4/conf/" AGENT_BOND_NAME "/arp_notify",
				    "1") < 0)
			log_debug("vf bond: arp_notify: %s", strerror(errno));
		if (guest_write_raw(a, "proc/sys/net/ipv6/conf/" AGENT_BOND_NAME "/ndisc_notify",
				    "1") < 0)
			log_debug("vf bond: ndisc_notify: %s", strerror(errno));
	}
	if (!a->dry_run && (rc = a->ops->link_up(a->ops_arg, AGENT_BOND_NAME, true)) < 0)
		return vfbond_fail(a, "bringing " AGENT_BOND_NAME " up", rc);
	if ((rc = vfbond_move(a, sb, AGENT_BOND_NAME)) < 0)
		return vfbond_fail(a, "moving the standby's addresses and routes", rc);
	if (!a->dry_run)
		a->ops->link_up(a->ops_arg, vf, false);
	snprintf(cmd, sizeof(cmd), "+%.16s", vf);
	if ((rc = vfbond_sysfs(a, "slaves", cmd)) < 0)
		return vfbond_fail(a, "enslaving the VF", rc);
	if ((rc = vfbond_sysfs(a, "primary", vf)) < 0)
		return vfbond_fail(a, "making the VF primary", rc);
	str_copy(a->vfb.vf, vf, sizeof(a->vfb.vf));
	a->vfb.builds++;
	a->vfb.last_error[0] = '\0';
	a->vfb.error_logged = false;
	return 1;
}

int agent_vfbond_release(struct agent *a)
{
	const char *sb = a->vfb.standby;
	char cmd[32];
	int rc, failed = 0;

	if (!a->vfb.built)
		return 0;
	log_info("vf bond: releasing %s (VF %s): %s gets its addresses back", AGENT_BOND_NAME,
		 a->vfb.vf[0] ? a->vfb.vf : "gone", sb);
	if (a->vfb.vf[0] && guest_nic_exists(a, a->vfb.vf)) {
		snprintf(cmd, sizeof(cmd), "-%.16s", a->vfb.vf);
		vfbond_sysfs(a, "slaves", cmd);
	}
	/* the configuration first, while the bond still has it */
	if (!a->dry_run) {
		struct agent_ipaddr ad[AGENT_BOND_ADDRS];
		struct agent_route rt[AGENT_BOND_ROUTES];
		int na = a->ops->addrs(a->ops_arg, AGENT_BOND_NAME, ad, AGENT_BOND_ADDRS);
		int nr = a->ops->routes(a->ops_arg, AGENT_BOND_NAME, rt, AGENT_BOND_ROUTES);
		snprintf(cmd, sizeof(cmd), "-%.16s", sb);
		a->ops->link_up(a->ops_arg, AGENT_BOND_NAME, false);
		if ((rc = vfbond_sysfs(a, "slaves", cmd)) < 0)
			failed += vfbond_fail(a, "releasing the standby", rc) < 0;
		if ((rc = vfbond_sysfs(a, "bonding_masters", "-" AGENT_BOND_NAME)) < 0)
			failed += vfbond_fail(a, "deleting " AGENT_BOND_NAME, rc) < 0;
		if ((rc = a->ops->link_up(a->ops_arg, sb, true)) < 0)
			failed += vfbond_fail(a, "bringing the standby up", rc) < 0;
		for (int i = 0; i < na; i++)
			if ((rc = a->ops->addr(a->ops_arg, sb, &ad[i], true)) < 0)
				failed += vfbond_fail(a, "giving an address back", rc) < 0;
		for (int i = 0; i < nr; i++)
			if ((rc = a->ops->route_add(a->ops_arg, sb, &rt[i])) < 0 && rc != -EEXIST)
				failed += vfbond_fail(a, "giving a route back", rc) < 0;
	} else {
		snprintf(cmd, sizeof(cmd), "-%.16s", sb);
		vfbond_sysfs(a, "slaves", cmd);
		vfbond_sysfs(a, "bonding_masters", "-" AGENT_BOND_NAME);
	}
	a->vfb.built = false;
	a->vfb.vf[0] = '\0';
	a->vfb.releases++;
	if (!failed) {
		a->vfb.last_error[0] = '\0';
		a->vfb.error_logged = false;
	}
	return failed ? -1 : 0;
}

int agent_vfbond_poll(struct agent *a)
{
	char names[AGENT_MAX_NICS][PROTO_IFNAME_MAX];
	struct agent_nic_info sb;
	int n;

	if (!a->vfb.standby[0])
		return 0;
	if (a->vfb.built) {
		if (a->vfb.vf[0] && guest_nic_exists(a, a->vfb.vf))
			return 0;
		log_info("vf bond: %s is gone", a->vfb.vf[0] ? a->vfb.vf : "the VF");
		return agent_vfbond_release(a) < 0 ? -1 : 1;
	}
	if (guest_nic_info(a, a->vfb.standby, &sb) < 0) {
		if (!a->vfb.error_logged)
			log_warnx("vf bond: no NIC %s to bond a VF with", a->vfb.standby);
		a->vfb.error_logged = true;
		snprintf(a->vfb.last_error, sizeof(a->vfb.last_error), "no NIC %s", a->vfb.standby);
		return -1;
	}
	if (sb.master[0])
		return 0; /* already a failover standby or someone's slave: not ours */
	if (a->vfb.skip[0] && !guest_nic_exists(a, a->vfb.skip))
		a->vfb.skip[0] = '\0'; /* the VF that failed is gone: the next one may work */
	n = guest_nic_list(a, names, AGENT_MAX_NICS);
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], a->vfb.skip) != 0 && vfbond_is_vf(a, names[i], &sb)) {
			int rc = vfbond_build(a, names[i]);
			if (rc < 0) {
				char why[sizeof(a->vfb.last_error)];
				str_copy(why, a->vfb.last_error, sizeof(why));
				agent_vfbond_release(a); /* leave nothing half made */
				str_copy(a->vfb.last_error, why, sizeof(a->vfb.last_error));
				/* not again every 200 ms: only once this VF goes and comes */
				str_copy(a->vfb.skip, names[i], sizeof(a->vfb.skip));
			}
			return rc;
		}
	return 0;
}

json_t *agent_vfbond_json(struct agent *a)
{
	char path[96], active[PROTO_IFNAME_MAX] = "";

	if (!a->vfb.standby[0])
		return NULL;
	if (a->vfb.built) {
		snprintf(path, sizeof(path), "sys/class/net/%s/bonding/active_slave",
			 AGENT_BOND_NAME);
		if (guest_read(a, path, active, sizeof(active)) < 0)
			active[0] = '\0';
	}
	json_t *j = json_pack("{s:s,s:b,s:I,s:I}", "standby", a->vfb.standby, "built", a->vfb.built,
			      "builds", (json_int_t)a->vfb.builds, "releases",
			      (json_int_t)a->vfb.releases);
	if (j && a->vfb.built) {
		json_object_set_new(j, "bond", json_string(AGENT_BOND_NAME));
		json_object_set_new(j, "vf", json_string(a->vfb.vf));
		json_object_set_new(j, "active", json_string(active));
	}
	if (j && a->vfb.last_error[0])
		json_object_set_new(j, "error", json_string(a->vfb.last_error));
	return j;
}
