/* vf.c - the FlexVF model's packets: VMs sharing a few SR-IOV VFs; PV packets queue on the host's packet cores, VF packets go straight to the guest (src/simrun/vf.c runs the intervals). */
#include "sim/vf.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- Constants (each with its source or rationale; docs/SIMULATOR.md) ------ */

/* Packet size: 1,472 B of UDP payload, the largest that fits a 1,500 B MTU
 * (FlexVF's evaluation sends 1,472 B packets; SPEC §7.2 / issue 13). On the
 * wire: + 8 UDP + 20 IP + 14 Ethernet + 4 FCS + 8 preamble + 12 gap. */
#define SIMVF_PAYLOAD_B 1472
#define SIMVF_WIRE_B	(SIMVF_PAYLOAD_B + 8 + 20 + 14 + 4 + 8 + 12)
/* Link speed: 25 Gb/s, a current server NIC with SR-IOV (Intel E810, Mellanox
 * ConnectX-5 25GbE); only the serialization time of one packet comes of it. */
#define SIMVF_LINK_BPS 25e9
/* Host cost of one packet on the PV path, all stages on one core:
 *   2,000 ns  NIC RX softirq, bridge forward, tap queue (the Linux bridge
 *             forwards ~0.5-1 Mpps per core: 1-2 us each, plus the tap hop)
 *   1,500 ns  vhost-net RX: tun recvmsg, descriptor walk, used ring (vhost-net
 *             moves ~0.7-1 Mpps per worker thread in published pktgen runs)
 *     216 ns  the copy into guest memory: 1.44 KiB at ~150 ns/KiB (single-core
 *             memcpy of cache-missing data ~7 GB/s; vhost-net copies: no
 *             zero-copy on RX)
 *     300 ns  signalling the guest (eventfd_signal + kvm_set_msi), one per
 *             packet at these rates (vhost batches up to 64 only when backlogged)
 * = 4,016 ns. The same rationale as the main model's constants (SIMULATOR.md);
 * the least certain part of this model: `--host-pkt-ns` moves it. */
#define SIMVF_HOST_PKT_NS (2000.0 + 1500.0 + 1.4375 * 150.0 + 300.0)
/* The softirq part runs on whichever core takes the packet; the rest (vhost)
 * on the VM's one vhost worker thread, a packet at a time. */
#define SIMVF_SOFTIRQ_SHARE (2000.0 / SIMVF_HOST_PKT_NS)
/* Guest vCPU cost of one virtio-net packet: the interrupt handler
 * (vring_interrupt, ~0.5 us) and the receive path to the socket (virtio-net
 * RX, IP, UDP, ~3 us: the Linux receive path costs 2-4 us per packet in
 * netperf profiles). */
#define SIMVF_GUEST_PV_NS 3500.0
/* Guest vCPU cost of one VF packet: the VF driver's RX clean and the same
 * stack (~3 us) plus a posted interrupt (no VM exit with APICv: ~0.2 us). */
#define SIMVF_GUEST_VF_NS 3200.0
/* Packets a tap queue holds for its vhost worker; more are dropped. Source:
 * tun's ptr_ring is sized by tx_queue_len, 1000 by default. */
#define SIMVF_TAP_QUEUE 1000
/* Receive descriptors a guest's NIC offers; packets that find them all in use
 * (the vCPU behind) are dropped. Sources: QEMU virtio-net rx_queue_size
 * default 256; iavf's default RX ring 512 (the VF). */
#define SIMVF_VIRTQUEUE 256
#define SIMVF_VF_RING	512
/* Descriptors of one NIC receive queue; packets that find the host's queues
 * full are dropped by the NIC. Source: ixgbe/ice default RX ring 512; one
 * queue per packet core (RSS). */
#define SIMVF_NIC_RING 512
/* The share of its bottleneck a long TCP stream keeps busy: 0.95, i.e. it
 * fills the path; a rationale (ack clocking keeps the bottleneck queue
 * non-empty), not a measurement. */
#define SIMVF_TCP_FILL 0.95
/* Host cores for the packet path: 20, the SPEC's host (SPEC §9), all of them
 * given to packet processing (the 100 vCPUs are assumed to run elsewhere). */
#define SIMVF_HOST_CORES 20

/* ---- a small seeded generator (splitmix64: Steele, Lea, Flood 2014) ------- */

static uint64_t simvf_next(struct simvf_rng *r)
{
	uint64_t z = (r->s += 0x9e3779b97f4a7c15u);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
	return z ^ (z >> 31);
}

/* Uniform in (0, 1). */
double simvf_unit(struct simvf_rng *r)
{
	return ((double)(simvf_next(r) >> 11) + 0.5) / 9007199254740992.0;
}

void simvf_defaults(struct simvf_cfg *c)
{
	static const double groups[] = { 20e3, 40e3, 80e3, 100e3 };

	memset(c, 0, sizeof(*c));
	c->vms = 100;
	c->n_groups = 4;
	memcpy(c->group_pps, groups, sizeof(groups));
	c->vfs = 10;
	c->strategy = &vf_policy_fair;
	c->min_hold = 1;
	c->intervals = 20;
	c->jitter = 0.1;
	c->host_cores = SIMVF_HOST_CORES;
	c->host_pkt_ns = SIMVF_HOST_PKT_NS;
	c->guest_pv_ns = SIMVF_GUEST_PV_NS;
	c->guest_vf_ns = SIMVF_GUEST_VF_NS;
	c->window_ms = 60;
	c->warmup_ms = 30;
	c->seed = 1;
}

int simvf_check(const struct simvf_cfg *c, char *err, size_t errlen)
{
	if (c->vms < 1 || c->vms > VF_MAX_VMS - 1) {
		snprintf(err, errlen, "--vms: %d is not in [1, %d]", c->vms, VF_MAX_VMS - 1);
		return -1;
	}
	if (c->n_groups < 1 || c->n_groups > SIMVF_MAX_GROUPS || c->n_groups > c->vms) {
		snprintf(err, errlen, "--groups: 1 to %d groups, at most one per VM",
			 SIMVF_MAX_GROUPS);
		return -1;
	}
	for (int g = 0; g < c->n_groups; g++)
		if (!(c->group_pps[g] > 0 && c->group_pps[g] <= 5e6)) {
			snprintf(err, errlen, "--groups: rate %g is not in (0, 5M] packets/s",
				 c->group_pps[g]);
			return -1;
		}
	if (!(c->bulk_pps >= 0 && c->bulk_pps <= 5e6) || c->vfs < 0 || c->vfs > c->vms + 1 ||
	    c->intervals < 1 || c->intervals > 10000 || !(c->jitter >= 0 && c->jitter < 1) ||
	    c->host_cores < 1 || c->host_cores > 1024 || !(c->host_pkt_ns > 0) ||
	    !(c->guest_pv_ns > 0) || !(c->guest_vf_ns > 0) || !(c->window_ms > c->warmup_ms) ||
	    c->warmup_ms < 0 || c->window_ms > 10000) {
		snprintf(err, errlen, "a parameter is out of range (see vspace sim vf --help)");
		return -1;
	}
	return 0;
}

/* How much of [a, b) lies in [lo, hi). */
static double simvf_overlap(double a, double b, double lo, double hi)
{
	double x = a > lo ? a : lo, y = b < hi ? b : hi;
	return y > x ? y - x : 0;
}

/* A min-heap of the host cores' free times. */
static void simvf_heap_down(double *h, int n, int i)
{
	for (;;) {
		int l = 2 * i + 1, r = l + 1, m = i;
		if (l < n && h[l] < h[m])
			m = l;
		if (r < n && h[r] < h[m])
			m = r;
		if (m == i)
			return;
		double t = h[i];
		h[i] = h[m];
		h[m] = t;
		i = m;
	}
}

/* Simulate one interval's window: Poisson arrivals of every VM merged,
 * the PV ones through the host's cores (FCFS), all through their guest's
 * vCPU. Returns the host cores' busy share over the window. */
double simvf_window(struct simvf_model *m, const struct simvf_cfg *c, struct simvf_result *r)
{
	struct simvf_vm *vm = m->vm;
	int n_vm = m->n_vm;
	struct simvf_rng *rng = &m->rng;
	double *cores = m->cores, *cum = m->cum, *ring = m->ring;
	/* start times of the packets waiting in the NIC's rings for a core (FCFS:
	 * they start in order), at most host_cores * SIMVF_NIC_RING */
	const int ring_cap = c->host_cores * SIMVF_NIC_RING;
	int ring_head = 0, ring_n = 0;
	const double wire_ns = SIMVF_WIRE_B * 8.0 / SIMVF_LINK_BPS * 1e9;
	const double end_ns = c->window_ms * 1e6, warm_ns = c->warmup_ms * 1e6;
	double total = 0, t = 0, busy = 0;

	for (int i = 0; i < n_vm; i++) {
		total += vm[i].pps;
		cum[i] = total;
		vm[i].guest_free = vm[i].vhost_done = 0;
		vm[i].wait_head = vm[i].wait_n = 0;
		vm[i].gwait_head = vm[i].gwait_n = 0;
	}
	for (int k = 0; k < c->host_cores; k++)
		cores[k] = 0;
	if (total <= 0)
		return 0;
	for (;;) {
		t += -log(simvf_unit(rng)) / total * 1e9;
		if (t >= end_ns)
			break;
		/* which VM: the first whose cumulative rate exceeds the draw */
		double u = simvf_unit(rng) * total;
		int lo = 0, hi = n_vm - 1;
		while (lo < hi) {
			int mid = (lo + hi) / 2;
			if (cum[mid] > u)
				hi = mid;
			else
				lo = mid + 1;
		}
		struct simvf_vm *v = &vm[lo];
		struct simvf_group *g = &r->group[v->group];
		bool measured = t >= warm_ns;
		double at = t + wire_ns, done;

		if (measured)
			g->packets++;
		if (!v->vf) {
			/* the softirq part on the first free core; the vhost part on the VM's
			 * one worker thread, in order, after those of its packets before */
			while (ring_n > 0 && ring[ring_head] <= at) {
				ring_head = (ring_head + 1) % ring_cap;
				ring_n--;
			}
			if (ring_n >= ring_cap) { /* the NIC's receive rings are full */
				if (measured)
					g->drops++;
				continue;
			}
			double start = cores[0] > at ? cores[0] : at;
			double soft_done = start + c->host_pkt_ns * SIMVF_SOFTIRQ_SHARE;
			if (start > at) {
				ring[(ring_head + ring_n) % ring_cap] = start;
				ring_n++;
			}
			double vh_start = soft_done > v->vhost_done ? soft_done : v->vhost_done;
			/* the tap queue holds the packets waiting for the worker */
			while (v->wait_n > 0 && v->wait[v->wait_head] <= soft_done) {
				v->wait_head = (v->wait_head + 1) % SIMVF_TAP_QUEUE;
				v->wait_n--;
			}
			if (v->wait_n >= SIMVF_TAP_QUEUE) {
				if (measured)
					g->drops++;
				busy += simvf_overlap(start, soft_done, warm_ns, end_ns);
				cores[0] = soft_done; /* the softirq work was done, then dropped */
				simvf_heap_down(cores, c->host_cores, 0);
				continue;
			}
			cores[0] = start + c->host_pkt_ns;
			busy += simvf_overlap(start, cores[0], warm_ns, end_ns);
			simvf_heap_down(cores, c->host_cores, 0);
			v->wait[(v->wait_head + v->wait_n) % SIMVF_TAP_QUEUE] = vh_start;
			v->wait_n++;
			v->vhost_done = vh_start + c->host_pkt_ns * (1 - SIMVF_SOFTIRQ_SHARE);
			at = v->vhost_done;
		}
		/* the guest's receive ring holds what its vCPU has not taken yet */
		int gcap = v->vf ? SIMVF_VF_RING : SIMVF_VIRTQUEUE;
		while (v->gwait_n > 0 && v->gwait[v->gwait_head] <= at) {
			v->gwait_head = (v->gwait_head + 1) % SIMVF_VF_RING;
			v->gwait_n--;
		}
		if (v->gwait_n >= gcap) {
			if (measured)
				g->drops++;
			continue;
		}
		double gs = v->guest_free > at ? v->guest_free : at;
		if (gs > at) {
			v->gwait[(v->gwait_head + v->gwait_n) % SIMVF_VF_RING] = gs;
			v->gwait_n++;
		}
		done = gs + (v->vf ? c->guest_vf_ns : c->guest_pv_ns);
		v->guest_free = done;
		if (measured)
			hist_add(&g->lat_ns, (uint64_t)(done - t));
	}
	return busy / ((end_ns - warm_ns) * c->host_cores);
}

int simvf_model_init(struct simvf_model *m, const struct simvf_cfg *c, int n_vm, char *err,
		     size_t errlen)
{
	memset(m, 0, sizeof(*m));
	m->n_vm = n_vm;
	m->rng.s = c->seed * 0x9e3779b97f4a7c15u + 1;
	m->vm = calloc((size_t)n_vm, sizeof(*m->vm));
	m->cores = calloc((size_t)c->host_cores, sizeof(double));
	m->cum = calloc((size_t)n_vm, sizeof(double));
	m->ring = calloc((size_t)c->host_cores * SIMVF_NIC_RING, sizeof(double));
	m->waits = calloc((size_t)n_vm * SIMVF_TAP_QUEUE, sizeof(double));
	m->gwaits = calloc((size_t)n_vm * SIMVF_VF_RING, sizeof(double));
	if (!m->vm || !m->cores || !m->cum || !m->ring || !m->waits || !m->gwaits) {
		simvf_model_free(m);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (int i = 0; i < n_vm; i++) {
		m->vm[i].group = i < c->vms ? i * c->n_groups / c->vms : c->n_groups;
		m->vm[i].wait = m->waits + (size_t)i * SIMVF_TAP_QUEUE;
		m->vm[i].gwait = m->gwaits + (size_t)i * SIMVF_VF_RING;
	}
	return 0;
}

void simvf_model_free(struct simvf_model *m)
{
	free(m->vm);
	free(m->cores);
	free(m->cum);
	free(m->ring);
	free(m->waits);
	free(m->gwaits);
	memset(m, 0, sizeof(*m));
}

void simvf_draw_rates(struct simvf_model *m, const struct simvf_cfg *c)
{
	for (int i = 0; i < m->n_vm; i++) {
		struct simvf_vm *v = &m->vm[i];
		if (v->group < c->n_groups) {
			v->pps = c->group_pps[v->group] *
				 (1 + c->jitter * (2 * simvf_unit(&m->rng) - 1));
			continue;
		}
		/* the bulk stream is TCP: ack-clocked, it settles at its path's
		 * bottleneck (its one vCPU, or on the PV path also its one vhost
		 * worker), below the rate its sender could offer */
		double cap = v->vf ? 1e9 / c->guest_vf_ns
				   : 1e9 / fmax(c->guest_pv_ns,
						c->host_pkt_ns * (1 - SIMVF_SOFTIRQ_SHARE));
		v->pps = fmin(c->bulk_pps, SIMVF_TCP_FILL * cap);
	}
}
