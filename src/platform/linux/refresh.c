/* refresh.c - the Linux platform's discovery step: re-discover the workloads and NICs, report the LC workloads that appeared and vanished. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/strutil.h"
#include "platform/linux/kvmstat.h"
#include "platform/linux/linux_int.h"

/* Forget what was known of a workload's process (it vanished, or everything was put back). */
void refresh_forget(struct lx_wl *w)
{
	memset(&w->proc_cg, 0, sizeof(w->proc_cg));
	w->aff_seq = 0;
	memset(&w->frozen, 0, sizeof(w->frozen));
	memset(&w->gvnq, 0, sizeof(w->gvnq));
	memset(&w->gvcpus, 0, sizeof(w->gvcpus));
	w->fz.planned = false;
	free(w->vvcpu);
	w->vvcpu = NULL;
	w->n_vvcpu = 0;
	w->n_viothr = 0;
	memset(&w->vemu, 0, sizeof(w->vemu));
	memset(w->viothr, 0, sizeof(w->viothr));
	w->cur_valid = false;
	w->has_p95 = false;
	kvmstat_forget(w);
}

/* Queues come and go without vspace too: a VM's tap has the queues QEMU
 * attached, which follow the guest's channel count (the agent's set_vnq).
 * Masks of queues that went away are forgotten (the kernel recreates them
 * empty), so they are written again when the queues come back. */
static void refresh_nic_queues(struct lx_nic *n)
{
	int rx, tx;

	if (sysfs_net_queues(n->sys_fd, n->name, &rx, &tx) < 0 || (rx == n->n_rx && tx == n->n_tx))
		return;
	log_debug("nic %s: %d rx and %d tx queues now (were %d and %d)", n->name, rx, tx, n->n_rx,
		  n->n_tx);
	for (int q = rx; q < n->n_rx && q < n->cap_q; q++)
		n->rps[q].known = false;
	for (int q = tx; q < n->n_tx && q < n->cap_q; q++)
		n->xps[q].known = false;
	n->n_rx = rx;
	n->n_tx = tx;
}

int linuxplat_refresh(struct vs_linux *lx, double now_s, struct vs_discovery *d)
{
	int n_app = 0, n_van = 0;
	bool threads_changed = false;

	lx->now_s = now_s;
	virtwl_refresh(lx, now_s); /* libvirt's events: new instances, stopped domains */
	for (int i = 0; i < lx->n_wl; i++) {
		struct lx_wl *w = &lx->wl[i];
		bool was = w->present;
		struct vs_wl_report *r;

		if (discover_workload(lx, w, now_s, w->virt_due) > 0)
			threads_changed = true;
		w->virt_due = false;
		if (was && !w->present) {
			lx->cnt.vanished++;
			refresh_forget(w);
			threads_changed = true;
		}
		if (!was && w->present)
			lx->cnt.appeared++;
		if (!w->spec.lc || w->present == w->reported)
			continue;
		w->reported = w->present;
		r = w->present ? &lx->appeared[n_app++] : &lx->vanished[n_van++];
		memset(r, 0, sizeof(*r));
		str_copy(r->name, w->spec.name, sizeof(r->name));
		r->slo_p95_us = w->spec.slo_p95_us;
		if (w->present)
			snprintf(r->found, sizeof(r->found),
				 "pid %d, %d threads (%s), placed by %s", w->pid, w->n_thr,
				 w->is_vm ? "VM" : "process", vs_placement_name(w->place));
		else
			str_copy(r->found, w->absent, sizeof(r->found));
	}
	for (int i = 0; i < lx->n_nic; i++) {
		if (lx->nic[i].present) {
			/* (a fixture tree or a dry run keeps the counts vspace planned) */
			if (lx->root.live && !lx->cfg.dry_run)
				refresh_nic_queues(&lx->nic[i]);
		} else if (lx->nic[i].sys_fd >= 0 || !lx->nic[i].netns[0]) {
			if (discover_nic(lx, &lx->nic[i]) == 0)
				log_info("nic %s appeared", lx->nic[i].name);
		}
	}
	/* the state holds what exists: records of threads that exited go when a
	 * listing shows threads came or went (at most every LX_RESCAN_S for a
	 * steady workload), in one rewrite of the file */
	if (threads_changed && lx->state.n > 0) {
		int dropped = state_prune(&lx->state, lx->root.proc_fd);
		if (dropped > 0) {
			lx->cnt.records_pruned += (uint64_t)dropped;
			log_debug("state: dropped %d records of threads that exited (%d left)",
				  dropped, lx->state.n);
			state_save(&lx->state);
		}
	}
	*d = (struct vs_discovery){ .n_appeared = n_app,
				    .appeared = lx->appeared,
				    .n_vanished = n_van,
				    .vanished = lx->vanished };
	return 0;
}

int refresh_seam(struct vs_platform *p, double now_s, struct vs_discovery *d)
{
	return linuxplat_refresh(vs_container_of(p, struct vs_linux, base), now_s, d);
}
