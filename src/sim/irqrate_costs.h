/* irqrate_costs.h - every constant of the interrupt-moderation model (`vspace sim irqrate`), with its source or rationale. */
#ifndef VS_SIM_IRQRATE_COSTS_H
#define VS_SIM_IRQRATE_COSTS_H

/*
 * The host the TCC 2017 study of SR-IOV interrupt-rate control ran on, as
 * SPEC §7.1 and issue 17 describe it: 8 cores, VMs of one vCPU each with an
 * SR-IOV virtual function (VF) of a 10 GbE NIC (82599-class, ixgbevf in the
 * guest), receiving TCP or UDP streams. Times are nanoseconds of one core at
 * ~2 GHz. "Source" names a documented default or measurement; "rationale" an
 * estimate derived from one. None was adjusted to move an outcome: they were
 * fixed before the first run (docs/SIMULATOR.md, "Interrupt moderation",
 * lists them again and shows how the results move when the uncertain ones
 * move). This file is separate from src/sim/costs.h (the vSPACE host model);
 * where a figure is the same the reasoning is repeated here.
 */

/* ---- The host ---------------------------------------------------------------- */

/* Cores. Source: SPEC §7.1 / issue 17, the original testbed. */
#define IRQ_SIM_CORES 8
/* Line rate, bits per second. Source: the testbed's 10 GbE NIC. */
#define IRQ_SIM_LINK_BPS 10e9
/* Bytes a frame takes on the wire besides the UDP payload: UDP 8 + IPv4 20 +
 * Ethernet 14 + FCS 4 + preamble 8 + inter-frame gap 12. Source: the
 * standards. */
#define IRQ_SIM_UDP_WIRE_OVERHEAD 66
/* The same for TCP: TCP 20 + timestamp option 12 + IPv4 20 + Ethernet 14 +
 * FCS 4 + preamble 8 + gap 12. */
#define IRQ_SIM_TCP_WIRE_OVERHEAD 90
/* Bytes the driver counts per frame besides the UDP/TCP payload (headers
 * from Ethernet on, no FCS): UDP 42, TCP 66. What CGR classifies by. */
#define IRQ_SIM_UDP_FRAME_HDR 42
#define IRQ_SIM_TCP_FRAME_HDR 66
/* One-way latency between the sender and the host's NIC (sender stack, switch,
 * cable): 5 us. Rationale: as SIM_CLIENT_ONE_WAY_NS in src/sim/costs.h (10 GbE
 * netperf TCP_RR round trips of 15-25 us between bare-metal hosts). */
#define IRQ_SIM_ONE_WAY_NS 5000LL

/* ---- The VF and its interrupts ------------------------------------------------- */

/* Receive descriptors per VF queue. Source: IXGBEVF_DEFAULT_RXD = 512. */
#define IRQ_SIM_RING 512
/* NAPI poll weight. Source: NAPI_POLL_WEIGHT = 64 (ixgbevf uses it). */
#define IRQ_SIM_NAPI_WEIGHT 64
/* A softirq run polls at most this many packets or this long before the rest
 * is left to ksoftirqd. Source: net.core.netdev_budget = 300,
 * netdev_budget_usecs = 2000 (net_rx_action). */
#define IRQ_SIM_NETDEV_BUDGET	 300
#define IRQ_SIM_NETDEV_BUDGET_NS 2000000LL

/* Host side of one VF interrupt (no posted interrupts, as on the 2017
 * testbed's KVM): the MSI-X interrupt lands on the core of the VM's vCPU;
 * vfio's handler signals the irqfd and KVM injects the vector: ~1.5 us.
 * Rationale: x86 interrupt entry/exit ~0.3 us, vfio_msihandler +
 * eventfd_signal + kvm_set_msi ~1 us in ftrace profiles. */
#define IRQ_SIM_HOST_IRQ_NS 1500LL
/* When the vCPU is running in guest mode the interrupt first forces a VM exit
 * and then a VM entry with the injection: ~0.7 + 0.5 us. Source: VMCALL round
 * trips of ~1,300-2,500 cycles (as SIM_VM_EXIT_NS/SIM_VM_ENTRY_NS). */
#define IRQ_SIM_VM_EXIT_NS  700LL
#define IRQ_SIM_VM_ENTRY_NS 500LL
/* Guest side of one interrupt: ixgbevf's MSI-X handler (napi_schedule) ~0.5
 * us plus the EOI, which without APIC virtualization is a trapped APIC write:
 * a VM exit, KVM's emulation (~0.3 us) and the entry. Rationale: as above. */
#define IRQ_SIM_GUEST_ISR_NS 500LL
#define IRQ_SIM_EOI_EXIT_NS  (IRQ_SIM_VM_EXIT_NS + 300LL + IRQ_SIM_VM_ENTRY_NS)

/* ---- Guest receive path (per packet) ---------------------------------------------- */

/* ixgbevf_clean_rx_irq per packet: descriptor, DMA sync, skb build, buffer
 * refill: ~0.5 us. Rationale: ixgbe-class drivers clean ~2-3 Mpps per core
 * in pktgen-style receive tests. */
#define IRQ_SIM_DRV_PKT_NS 500LL
/* IP + UDP receive to the socket queue: ~1 us. Rationale: a Linux core takes
 * ~1 Mpps of small UDP into sockets (udp_rcv, socket lookup, enqueue,
 * wake-up), half of the ~2 us a host hop costs in src/sim/costs.h. */
#define IRQ_SIM_UDP_PKT_NS 1000LL
/* IP + TCP receive of one in-order segment to the socket: ~1.5 us; the ACK
 * for every second segment (delayed ACK) is built and sent through the VF:
 * ~1 us more each. Rationale: tcp_v4_rcv + tcp_rcv_established fast path;
 * the TX half as SIM_HOST_XMIT_PKT_NS. */
#define IRQ_SIM_TCP_PKT_NS  1500LL
#define IRQ_SIM_TCP_ACK_NS  1000LL
#define IRQ_SIM_TCP_ACK_PER 2 /* segments per ACK. Source: RFC 1122 delayed ACK */
/* With receive packet steering the interrupt's CPU only queues the packet on
 * the target CPU's backlog: ~0.2 us per packet, plus one IPI per poll and
 * remote CPU (an x2APIC ICR write: a VM exit and KVM's emulation, ~1.5 us,
 * and the interrupt on the target vCPU, as a guest ISR). Rationale:
 * get_rps_cpu + enqueue_to_backlog are a few hundred cycles. */
#define IRQ_SIM_RPS_PKT_NS 200LL
#define IRQ_SIM_RPS_IPI_NS (IRQ_SIM_VM_EXIT_NS + 300LL + IRQ_SIM_VM_ENTRY_NS)

/* ---- The receiving application (netperf/iperf in the guest) ---------------------------- */

/* One recvmsg call: syscall entry/exit, socket lock, dequeue, wake-up
 * bookkeeping: ~1 us; UDP reads one datagram per call, TCP reads up to 64 KiB
 * (the reader's buffer). Rationale: a syscall round trip is ~0.1-0.3 us; the
 * socket work the rest. */
#define IRQ_SIM_RECV_CALL_NS   1000LL
#define IRQ_SIM_TCP_READ_BYTES 65536
/* Copying payload to user space: ~150 ns per KiB. Rationale: as
 * SIM_COPY_NS_PER_KIB (single-core memcpy of cache-missing data ~7 GB/s). */
#define IRQ_SIM_COPY_NS_PER_KIB 150LL
/* Memory a queued packet is charged against the socket's receive buffer
 * (skb->truesize): ixgbevf receives into half pages, 2048 B, plus the
 * sk_buff, ~256 B. Source: IXGBEVF_RX_BUFSZ 2048; sizeof(struct sk_buff). */
#define IRQ_SIM_TRUESIZE 2304
/* UDP socket receive buffer: net.core.rmem_default = 212992 B. Source: the
 * kernel default. */
#define IRQ_SIM_UDP_RCVBUF 212992
/* TCP receive buffer after autotuning: tcp_rmem[2] = 6 MiB. Source: the
 * kernel default (net.ipv4.tcp_rmem = 4096 131072 6291456). */
#define IRQ_SIM_TCP_RCVBUF 6291456

/* ---- TCP sender (Reno-like, in packets) --------------------------------------------------- */

/* Initial window, segments. Source: RFC 6928 (IW10). */
#define IRQ_SIM_TCP_IW 10
/* Retransmission timeout after which a stalled sender starts again with one
 * segment. Source: TCP_RTO_MIN = 200 ms. */
#define IRQ_SIM_TCP_RTO_NS 200000000LL

/* ---- Host scheduling of vCPUs (CFS; scaled for 8 CPUs) ---------------------------------- */

/* sched_latency 6 ms * (1 + ilog2(8)) = 24 ms; min granularity 0.75 * 4 = 3
 * ms; wakeup granularity 1 * 4 = 4 ms; a waking task is placed at most
 * latency/2 behind min_vruntime. Source: kernel/sched/fair.c defaults. */
#define IRQ_SIM_SCHED_LATENCY_NS     24000000LL
#define IRQ_SIM_SCHED_MIN_GRAN_NS    3000000LL
#define IRQ_SIM_SCHED_WAKEUP_GRAN_NS 4000000LL
/* Switching a core from one vCPU thread to another: context switch ~1.5 us +
 * vcpu_load (VMCS, MSRs) ~1 us. Rationale: as SIM_CTX_SWITCH_NS +
 * SIM_VCPU_LOAD_NS. */
#define IRQ_SIM_VCPU_SWITCH_NS 2500LL
/* A halting vCPU: the HLT exit and KVM's block: ~1 us; waking it on an idle
 * core: C1 exit 2 us (intel_idle skx_cstates) + entry. */
#define IRQ_SIM_HALT_NS 1000LL
#define IRQ_SIM_WAKE_NS (2000LL + IRQ_SIM_VM_ENTRY_NS)

/* ---- Control --------------------------------------------------------------------------- */

/* The policies' period. Source: SPEC §7.1 (100 ms). */
#define IRQ_SIM_PERIOD_NS 100000000LL

#endif
