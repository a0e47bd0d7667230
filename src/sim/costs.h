/* costs.h - every micro-cost and mechanism constant of the simulator, with its source or rationale. */
#ifndef VS_SIM_COSTS_H
#define VS_SIM_COSTS_H

/*
 * All times are nanoseconds of one core of the modelled host, an Intel Xeon
 * Gold 6138 (Skylake-SP, 20 cores, 2.0 GHz base, 125 W TDP), the machine of
 * the published vSPACE evaluation. docs/SIMULATOR.md repeats every constant
 * with the same reasoning. None of them was adjusted to move an outcome: they
 * were fixed from the sources below before the first run of the scenarios.
 * "Source" names a documented default or measurement; "rationale" marks an
 * estimate derived from one.
 */

/* ---- Host scheduler (Linux CFS; defaults scaled for >= 8 CPUs) ------------ */

/* sysctl_sched_latency: 6 ms * (1 + ilog2(min(ncpus, 8))) = 24 ms.
 * Source: kernel/sched/fair.c (normalized tunables, SCHED_TUNABLESCALING_LOG). */
#define SIM_SCHED_LATENCY_NS 24000000LL
/* sysctl_sched_min_granularity: 0.75 ms * 4 = 3 ms. Source: as above. */
#define SIM_SCHED_MIN_GRAN_NS 3000000LL
/* sysctl_sched_wakeup_granularity: 1 ms * 4 = 4 ms: a woken task preempts the
 * running one only when its vruntime is this much smaller. Source: as above. */
#define SIM_SCHED_WAKEUP_GRAN_NS 4000000LL
/* GENTLE_FAIR_SLEEPERS: a waking task is placed at most latency/2 behind the
 * run queue's min_vruntime. Source: place_entity() in kernel/sched/fair.c. */
#define SIM_SCHED_SLEEPER_CREDIT_NS (SIM_SCHED_LATENCY_NS / 2)
/* sysctl_sched_migration_cost = 0.5 ms: a core that goes idle pulls waiting
 * work from other cores (newidle balance) only if its average idle period is
 * at least this long; avg_idle starts at twice it. Source: kernel/sched/fair.c
 * newidle_balance(), kernel/sched/core.c (rq->avg_idle). */
#define SIM_SCHED_MIGRATION_COST_NS 500000LL
/* Periodic load balancing runs once per scheduler tick on each core; Debian's
 * kernels use HZ=250, a 4 ms tick. Source: Debian config CONFIG_HZ_250. */
#define SIM_LB_INTERVAL_NS 4000000LL

/* Host context switch between two threads: ~1.5 us. Rationale: lmbench
 * lat_ctx (2 processes, 0 KB) reports 1-2 us on Skylake-SP class servers;
 * includes the scheduler's pick and the switch_to of registers and mm. */
#define SIM_CTX_SWITCH_NS 1500LL
/* Extra cost when the incoming thread is a vCPU: vcpu_load/vcpu_put (VMCS
 * load, guest MSR and FPU state switch): ~1 us. Rationale: KVM's
 * vmx_vcpu_load + kvm_arch_vcpu_load on Skylake ~2,000 cycles at 2 GHz. */
#define SIM_VCPU_LOAD_NS 1000LL
/* Cold-cache penalty of a thread migrated to another core: the first work
 * there refills the private L1/L2 working set. Rationale: ~256 KiB of hot data
 * = 4,096 lines at ~2.5 ns each (L3 hit, with memory-level parallelism).
 * (Kept for the simplified models; the host model derives every refill from
 * the working-set model below: SIM_REFILL_NS_PER_KIB x the part of a thread's
 * working set that is gone.) */
#define SIM_MIGRATION_COLD_NS 10000LL
/* Exit latency of an allocated idle core (C1). Source: intel_idle's Skylake-SP
 * table (skx_cstates): C1 exit_latency 2 us. */
#define SIM_C1_EXIT_NS 2000LL
/* Exit latency of an unallocated core (C6). Source: skx_cstates C6 exit_latency
 * 133 us. (Unallocated cores get no work; this only matters in the instant a
 * core joins a group.) */
#define SIM_C6_EXIT_NS 133000LL

/* ---- Wake-up placement (Linux 5.13, kernel/sched/fair.c) -------------------- */

/* sd->imbalance_pct of the LLC (MC) domain: 117. Source: sd_init() in
 * kernel/sched/topology.c (v5.13). wake_affine_weight() biases prev_cpu by
 * half of the excess: 100 + (117 - 100) / 2 = 108 percent. */
#define SIM_SD_LLC_IMBALANCE_PCT 117
/* PELT: a task's and a run queue's load_avg decay with a half-life of 32
 * periods of 1024 us. Source: LOAD_AVG_PERIOD = 32 in kernel/sched/sched-pelt.h
 * and the 1024 us period of kernel/sched/pelt.c. The model decays
 * continuously (exp2(-dt / half-life)) rather than per 1024 us period. */
#define SIM_PELT_HALFLIFE_NS (32LL * 1024 * 1024)
/* NICE_0_LOAD as PELT scales it (scale_load_down(NICE_0_LOAD) = 1024). */
#define SIM_PELT_WEIGHT 1024.0
/* record_wakee() halves current->wakee_flips at most once a second (HZ
 * jiffies). Source: kernel/sched/fair.c. */
#define SIM_WAKEE_DECAY_NS 1000000000LL
/* Cost of examining one CPU in select_idle_cpu() (its rq->curr, nr_running
 * and ttwu_pending: one cache line another core writes): ~50 ns. Rationale:
 * Skylake-SP L3 hit latency ~20 ns, a line modified in another core's L2 ~100
 * ns over the mesh; run-queue lines are mostly read-shared. Only SIS_PROP's
 * avg_scan_cost sees it (it limits the scan depth); the waker's CPU time for
 * the scan is not charged. Uncertain: varied in `vspace sim sensitivity`. */
#define SIM_SIS_SCAN_NS_PER_CPU 50LL

/* ---- The cost of sharing a core: caches and TLB ------------------------------ */

/*
 * Working-set model (host.c): each thread (and each core's softirq context)
 * keeps a working set hot in the core's private caches while it runs. What
 * other threads or softirq work bring into the core's private cache since it
 * last ran there (their refills and the packet bytes they stream) evicts a
 * share 1 - exp(-F / SIM_L2_BYTES) of it (random replacement); when it
 * resumes it refills that share at SIM_REFILL_NS_PER_KIB. On another core it
 * refills all of it. The TLB works the same way with entries. So the penalty
 * grows with what ran in between, that is with the time it was away.
 */
/* Private L2 per core: 1 MiB (16-way); L1d 32 KiB. Source: Intel Xeon
 * Scalable (Skylake-SP) documentation, WikiChip "skylake (server)". */
#define SIM_L2_BYTES (1024 * 1024)
/* Refill from the shared L3 with memory-level parallelism: ~2.5 ns per 64-byte
 * line, 40 ns per KiB. Rationale: Skylake-SP's L3 hit latency is ~20 ns (~80
 * cycles at 4 GHz turbo, ~40 at 2 GHz base); with ~8 misses in flight (10 L1
 * fill buffers) a line costs ~2.5 ns. Uncertain: varied in the sensitivity. */
#define SIM_REFILL_NS_PER_KIB 40LL
/* Working sets (the data and code a thread keeps reusing across requests;
 * data touched once per request, such as a memcached item or a packet, is
 * streamed and counted per packet). Estimates, no direct measurement: the
 * kernel network stack's hot code and data are a few hundred KiB (its
 * instruction footprint alone exceeds the 32 KiB L1i, Kanev et al., ISCA 2015,
 * "Profiling a warehouse-scale computer"); all are varied together in the
 * sensitivity (x0.5, x2).
 *   LC vCPU: guest kernel (NAPI, TCP, epoll) + memcached/nginx: 512 KiB
 *   vhost worker: vhost/tun code, virtqueue rings, skbs: 128 KiB
 *   host softirq (per core): driver, GRO, bridge, tap: 64 KiB
 *   BE vCPU (CPU-bound): the whole L2, 1 MiB */
#define SIM_WS_VCPU_KIB	   512
#define SIM_WS_VHOST_KIB   128
#define SIM_WS_SOFTIRQ_KIB 64
#define SIM_WS_BE_KIB	   1024
/* A CPU-bound BE vCPU also streams data through the L2 that it does not
 * reuse (its misses beyond the working set): 1 GB/s, 1 byte per ns. Rationale:
 * memory-intensive batch codes run at ~10 L2 misses per 1,000 instructions
 * (SPEC CPU2006's memory-bound half; Jaleel, "Memory characterization of
 * workloads using instrumentation-driven simulation", 2010): at ~1.5
 * instructions per ns that is ~1 GB/s of 64-byte lines. It makes what a BE
 * vCPU evicts grow with the time it runs. Estimate; in the working-set knob. */
#define SIM_BE_STREAM_BYTES_PER_NS 1.0
/* Second-level TLB: 1,536 entries shared by 4 KiB and 2 MiB pages. Source:
 * WikiChip "skylake (server)" / Intel optimization manual, Skylake STLB. */
#define SIM_STLB_ENTRIES 1536
/* TLB entries each kind keeps (the same estimate as the working sets, one
 * entry per 4 KiB page; guest memory is 2 MiB-backed in EPT but the guest's
 * own pages are 4 KiB): vCPU 128, vhost 32, softirq 16, BE 1,536. */
#define SIM_TLB_VCPU	128
#define SIM_TLB_VHOST	32
#define SIM_TLB_SOFTIRQ 16
#define SIM_TLB_BE	1536
/* A TLB miss: a page walk mostly served by the paging-structure caches and
 * the L2/L3: ~30 ns; a guest's 2-D walk (guest page tables through EPT)
 * roughly doubles it: 60 ns. Rationale: Skylake page walks of 20-40 cycles
 * when the walk hits the caches, up to 24 references for a 2-D walk (Intel
 * SDM vol. 3, 28.2; Bhargava et al., ASPLOS 2008). */
#define SIM_TLB_WALK_NS	      30LL
#define SIM_TLB_WALK_GUEST_NS 60LL

/* ---- CPU-bug mitigations on a Skylake-SP host, Linux 5.13 + KVM defaults ----- */

/* IBPB: vmx_vcpu_load_vmcs() issues indirect_branch_prediction_barrier()
 * whenever the VMCS loaded on a CPU changes to another vCPU's (Linux 5.13,
 * arch/x86/kvm/vmx/vmx.c; spectre_v2 mitigation "retpoline, IBPB:
 * conditional" on Skylake-SP). An IBPB is a write to MSR_IA32_PRED_CMD that
 * flushes the indirect branch predictors: several thousand cycles; taken as
 * 4,000 cycles = 2 us at 2 GHz, plus the mispredictions after it (not
 * modelled). Rationale: LKML's 2018 discussions of IBPB on context switch
 * ("x86/speculation: Use Indirect Branch Prediction Barrier in context
 * switch") put it at thousands of cycles; no exact public Skylake-SP figure
 * was found. Uncertain: varied in the sensitivity. */
#define SIM_IBPB_NS 2000LL
/* L1D flush on VM entry: L1TF's default for KVM is vmentry_l1d_flush=cond
 * (Documentation/admin-guide/hw-vuln/l1tf.rst): vmx_l1d_flush() writes
 * MSR_IA32_FLUSH_CMD before VMENTER when the vCPU was scheduled in since its
 * last entry (kvm_arch_sched_in sets l1tf_flush_l1d) or an interrupt ran on
 * the CPU since (kvm_set_cpu_l1tf_flush_l1d in the IRQ entry path). Cost: the
 * flush (write-back of dirty lines to L2) and the guest's refill of its 32 KiB
 * L1d from L2 (512 lines at ~1 ns with MLP): ~1 us. Estimate; uncertain. */
#define SIM_L1D_FLUSH_NS 1000LL
/* MDS (mds=full) has no constant: on VM entry KVM calls
 * mds_clear_cpu_buffers() (VERW) only when the L1D flush static branch is off;
 * with vmentry_l1d_flush=cond it is on, and a conditional flush that is
 * skipped skips VERW too (5.13 vmx_vcpu_enter_exit()). The L1D flush clears the
 * buffers (MD_CLEAR microcode). So on this host MDS adds no VM-entry cost of its
 * own; the guest's VERW on its returns to user mode is inside the measured
 * service times, and idle-time clearing applies only with SMT on. */
/* vCPU migration to another CPU: vmx_vcpu_load_vmcs() sees the VMCS loaded
 * elsewhere and calls loaded_vmcs_clear(): a synchronous function-call IPI to
 * the old CPU, which VMCLEARs it; then VMPTRLD here and KVM_REQ_TLB_FLUSH
 * (the VPID's stale translations go; the TLB refill is the working-set model's
 * cold start). The waiting CPU spends the IPI round trip: ~2 us (cross-core
 * IPI delivery ~1 us each way on Skylake-SP); the old CPU takes an interrupt
 * (SIM_IRQ_ENTRY_NS) plus the VMCLEAR, ~0.3 us. Rationale: smp_call_function
 * round trips of 1.5-3 us are typical on 2-socket Xeons (LKML discussions of
 * IPI latency); uncertain. */
#define SIM_VMCLEAR_IPI_NS    2000LL
#define SIM_VMCLEAR_REMOTE_NS 300LL
/* INVVPID/INVEPT for KVM_REQ_TLB_FLUSH on the new CPU, and
 * KVM_REQ_MIGRATE_TIMER (the LAPIC timer's hrtimer moves): ~0.5 us together.
 * Rationale: a few hundred cycles each; estimate. */
#define SIM_VCPU_MIGRATE_NS 500LL

/* ---- Interrupts and VM exits ---------------------------------------------- */

/* Host hard interrupt: entry, driver ISR (napi_schedule), exit: ~1 us.
 * Rationale: x86 interrupt entry/exit ~0.3 us plus the MSI-X ISR and the
 * softirq raise; common_interrupt profiles show ~1-2k cycles. */
#define SIM_IRQ_ENTRY_NS 1000LL
/* VM exit (guest -> KVM), hardware transition plus exit dispatch: ~0.7 us.
 * Source: a VMCALL round trip costs ~1,300-2,500 cycles on recent Intel and
 * AMD parts (e.g. yshalabi.github.io/VMExits, LKML 2012.2/00527); the exit
 * half at 2 GHz. */
#define SIM_VM_EXIT_NS 700LL
/* VM entry (KVM -> guest), including interrupt injection: ~0.5 us (the other
 * half of the round trip above). */
#define SIM_VM_ENTRY_NS 500LL
/* KVM work to emulate an ICR write (guest IPI) or a HLT, or to signal an
 * ioeventfd, on top of the exit itself: ~0.5 us. Rationale: x2APIC ICR
 * emulation and eventfd_signal are a few hundred ns each in ftrace profiles. */
#define SIM_EXIT_HANDLER_NS 500LL

/* KVM adaptive halt polling (x86 defaults). Source: virt/kvm/kvm_main.c
 * module parameters halt_poll_ns (KVM_HALT_POLL_NS_DEFAULT = 200000 on x86),
 * halt_poll_ns_grow = 2, halt_poll_ns_grow_start = 10000,
 * halt_poll_ns_shrink = 2 (default since kvm commit aeb1b22, "KVM: Enable halt
 * polling shrink parameter by default"; earlier kernels used 0). */
#define SIM_HALT_POLL_MAX_NS   200000LL
#define SIM_HALT_POLL_GROW     2
#define SIM_HALT_POLL_START_NS 10000LL
#define SIM_HALT_POLL_SHRINK   2

/* ---- Physical NIC (10 GbE, ixgbe-like) ------------------------------------ */

/* Line rate of the link, bits per second. Source: the evaluation's 10 GbE NIC. */
#define SIM_LINK_BPS 10000000000.0
/* Ethernet + IP + TCP headers, preamble and inter-frame gap per frame:
 * 14 + 20 + 32 (TCP with timestamps) + 20 = 86 bytes. Source: the standards. */
#define SIM_FRAME_OVERHEAD_BYTES 86
/* TCP maximum segment payload with timestamps on a 1500-byte MTU. */
#define SIM_MSS_BYTES 1448
/* One-way latency between the load generator and the server's NIC outside
 * the modelled host (client stack and NIC, switch, cable): 5 us. Rationale:
 * netperf TCP_RR between two bare-metal hosts on 10 GbE gives 15-25 us round
 * trips; the server half of that is modelled explicitly. */
#define SIM_CLIENT_ONE_WAY_NS 5000LL
/* RX descriptor ring per queue. Source: ixgbe default rx ring size 512. */
#define SIM_NIC_RING 512
/* Interrupt moderation: at most one interrupt per queue per 10 us. Source:
 * ixgbe's dynamic ITR puts small-packet "lowest latency" traffic in its
 * 100,000 interrupts/s class (IXGBE_100K_ITR). */
#define SIM_NIC_ITR_GAP_NS 10000LL
/* NAPI poll weight (packets per poll before yielding to the next queue).
 * Source: NAPI_POLL_WEIGHT = 64. */
#define SIM_NAPI_BUDGET 64
/* Softirq processing that runs this long without finishing is deferred to the
 * core's ksoftirqd thread, which the scheduler time-shares with other threads.
 * Source: MAX_SOFTIRQ_TIME = 2 ms in kernel/softirq.c (net_rx_action's own
 * netdev_budget_usecs is also 2 ms). Applied in host and guest. */
#define SIM_SOFTIRQ_MAX_NS 2000000LL
/* Host softirq cost of one received packet: driver RX clean, skb build, GRO,
 * netif_receive_skb, bridge forward, tun queue: ~2 us. Rationale: the Linux
 * bridge forwards ~0.5-1 Mpps of small packets per core, i.e. 1-2 us each,
 * and a tap hop adds an skb clone and a wake-up. */
#define SIM_HOST_RX_PKT_NS 2000LL
/* Host softirq cost of cleaning one transmitted descriptor (unmap, free skb):
 * ~0.2 us. Rationale: ixgbe_clean_tx_irq is a few hundred cycles per skb. */
#define SIM_HOST_TX_CLEAN_NS 200LL

/* ---- Tap and vhost-net ------------------------------------------------------ */

/* Packets a tap queue holds for its vhost thread. Source: tun's per-queue
 * ptr_ring is sized by the device's tx_queue_len, 1000 by default. */
#define SIM_TAP_QUEUE 1000
/* Descriptors per virtqueue. Source: QEMU virtio-net rx/tx_queue_size default
 * 256. */
#define SIM_VIRTQUEUE 256
/* vhost-net signals the guest after at most this many RX packets (used-ring
 * batching). Source: VHOST_NET_BATCH = 64 in drivers/vhost/net.c. */
#define SIM_VHOST_BATCH 64
/* vhost-net's handle_tx/handle_rx give up the worker after this many packets
 * and requeue themselves behind the other ring's work. Source:
 * VHOST_NET_PKT_WEIGHT = 256 in drivers/vhost/net.c. */
#define SIM_VHOST_WEIGHT 256
/* vhost RX of one packet (tun recvmsg, descriptor walk, used-ring update),
 * excluding the copy: ~1.5 us. Rationale: vhost-net moves ~0.7-1 Mpps of
 * small packets per worker thread in published pktgen tests. */
#define SIM_VHOST_RX_PKT_NS 1500LL
/* vhost TX of one packet (descriptor walk, tun sendmsg), excluding the copy
 * and the host transmit path: ~1.5 us. Same rationale as RX. */
#define SIM_VHOST_TX_PKT_NS 1500LL
/* Copying between guest memory and host skbs (vhost has no zero-copy by
 * default: experimental_zcopytx=0): ~150 ns per KiB. Rationale: single-core
 * memcpy of cache-missing data ~7 GB/s. */
#define SIM_COPY_NS_PER_KIB 150LL
/* Host transmit of one packet from the tap to the NIC (bridge, qdisc,
 * driver xmit, doorbell): ~1 us. Rationale: dev_queue_xmit + ixgbe_xmit_frame
 * are ~1-2k cycles per skb. */
#define SIM_HOST_XMIT_PKT_NS 1000LL
/* vhost signalling the guest through its irqfd (eventfd_signal, KVM IRQ
 * routing): ~0.3 us. Rationale: eventfd_signal plus kvm_set_msi. */
#define SIM_VHOST_SIGNAL_NS 300LL

/* ---- Guest (Linux, virtio-net) ---------------------------------------------- */

/* Guest interrupt handler (vring_interrupt, napi_schedule): ~0.5 us. */
#define SIM_GUEST_IRQ_NS 500LL
/* Guest receive of one packet: virtio-net RX, GRO, IP, TCP receive, socket
 * queue and the wake-up of the reader: ~3 us. Rationale: the Linux TCP
 * receive path costs 2-4 us per small segment in netperf TCP_RR profiles. */
#define SIM_GUEST_RX_PKT_NS 3000LL
/* Guest transmit of one reply: tcp_sendmsg, IP output, virtio-net xmit
 * (descriptor add), excluding the payload copy: ~3 us (same rationale). */
#define SIM_GUEST_TX_PKT_NS 3000LL
/* Guest scheduler switching between two application threads on one vCPU: ~1.5
 * us (as the host, lmbench lat_ctx). */
#define SIM_GUEST_CTX_SWITCH_NS 1500LL
/* Cost of cleaning one transmitted descriptor inside the guest under SR-IOV
 * (the VF driver frees its own TX skbs): as the host, ~0.2 us. */
#define SIM_GUEST_TX_CLEAN_NS 200LL

/* ---- Applications (per request, user space only; the kernel paths are above) */

/* memcached: libevent dispatch, read, parse, hash lookup or store, response
 * assembly: ~2 us, plus ~0.25 us per KiB of value (hashing and copying the
 * item). Rationale: a memcached worker thread serves ~300-500 kops/s of small
 * GETs when the kernel's share is removed (memtier/mutilate profiles). */
#define SIM_MEMCACHED_APP_NS	    2000LL
#define SIM_MEMCACHED_APP_NS_PER_KB 250LL
/* nginx: HTTP parse, location match, open/fstat of the file, header build,
 * sendfile of a 1 KiB file: 8 us of user and syscall time per request, the
 * kernel's TCP receive and transmit paths excluded (modelled in the guest).
 * Derived from a measurement: NGINX's "Testing the Performance of NGINX and
 * NGINX Plus Web Servers" (nginx.com blog, 2017) reports 74,091 requests/s on
 * one CPU of a 2.3 GHz Xeon E5-2699 v3 for 1 KB files over keep-alive HTTP,
 * i.e. 13.5 us per request; at the 6138's 2.0 GHz that is 15.5 us, of which
 * the modelled guest RX and TX stack (SIM_GUEST_RX_PKT_NS + SIM_GUEST_TX_PKT_NS,
 * 6 us) and the NIC driver's share of a bare-metal request (~1.5 us: one RX
 * packet at SIM_HOST_RX_PKT_NS's driver part and a TX clean) leave 8 us. The
 * same table gives 145,551 requests/s for an empty response, so about half of
 * the 8 us is the file (open, stat, sendfile). */
#define SIM_NGINX_APP_NS 8000LL
/* nginx request (GET line and headers) and the static file size in bytes: the
 * original evaluation serves 1 KB files (100,000 of them: 100 MB, all in the
 * guest's page cache). The 4 KiB file this constant used to be is a different
 * workload. */
#define SIM_NGINX_REQ_BYTES  150
#define SIM_NGINX_FILE_BYTES 1024
/* (The 100,000 files are too many to stay in a core's private cache: each
 * reply's file is streamed through it, counted with the reply's bytes in the
 * working-set model below.) */
/* HTTP/1.1 response status line and headers nginx sends with it. */
#define SIM_NGINX_RESP_HDR_BYTES 250

/* memcached ETC workload (Atikoglu et al., SIGMETRICS 2012, the "ETC" pool):
 * key size ~ GEV(mu 30.7984, sigma 8.20449, k 0.078688); value size ~
 * generalized Pareto(theta 0, sigma 214.476, k 0.348238); GET:SET = 30:1.
 * Values are capped at memcached's 1 MiB item limit. */
#define SIM_ETC_KEY_MU	     30.7984
#define SIM_ETC_KEY_SIGMA    8.20449
#define SIM_ETC_KEY_K	     0.078688
#define SIM_ETC_VALUE_SIGMA  214.476
#define SIM_ETC_VALUE_K	     0.348238
#define SIM_ETC_GETS_PER_SET 30
#define SIM_ETC_VALUE_MAX    (1 << 20)
/* memcached ASCII protocol overhead: "get <key>\r\n" / "VALUE <key> 0 <n>\r\n"
 * ... "END\r\n", "set <key> 0 0 <n>\r\n" ... "STORED\r\n". */
#define SIM_MEMCACHED_HDR_BYTES 30

/* Client connections (open-loop load generator, mutilate-style: several
 * agents with many connections each). */
#define SIM_CONNECTIONS 256

/* Most requests the load generator keeps outstanding. Beyond it a send cannot
 * be made (its sockets are full) and counts as lost at the client. Rationale:
 * bounds memory under sustained overload; 1 M outstanding requests is seconds
 * of backlog at any load studied here, far past every SLO. */
#define SIM_MAX_IN_FLIGHT 1000000

/* TCP retransmission of a request dropped on a full ring. Source: Linux
 * TCP_RTO_MIN = 200 ms. */
#define SIM_TCP_RTO_NS 200000000LL

/* ---- ES2 and SR-IOV (simulator-only mechanisms, SPEC §3.6) ------------------ */

/* ES2 hybrid I/O handling: after its rings run dry the vhost thread keeps
 * polling them, with guest notifications off, for this long before sleeping.
 * Rationale: the ES2 papers switch between polling and notification by I/O
 * rate; 50 us covers the gap between requests above ~20 kreq/s on one queue. */
#define SIM_ES2_POLL_NS 50000LL
/* Hardware queues of the SR-IOV virtual function. Source: SPEC §3.6 and the
 * TCC 2017 paper (a VF has 1-2 queues). */
#define SIM_SRIOV_QUEUES 2

/* ---- Power (per core, by state) ------------------------------------------- */

/* TDP of the Xeon Gold 6138 package. Source: Intel ARK. */
#define SIM_TDP_W 125.0
/* Uncore (mesh, LLC, memory controllers, UPI) ~20 % of TDP. Rationale:
 * Skylake-SP uncore power is 20-30 W under load in RAPL breakdowns. */
#define SIM_UNCORE_W 25.0
/* A busy core: the rest of TDP over 20 cores, (125 - 25) / 20 = 5 W. */
#define SIM_CORE_BUSY_W 5.0
/* An allocated idle core sits in C1 (clock gated, voltage kept): ~30 % of
 * busy power (leakage). Rationale: core leakage at nominal voltage. */
#define SIM_CORE_C1_W 1.5
/* An unallocated core reaches C6 (power gated): ~0.1 W. */
#define SIM_CORE_C6_W 0.1

#endif
