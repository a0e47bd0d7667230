/* guest.h - the hook for a per-workload guest actuator (the agent client of src/proto/ plugs in here). */
#ifndef VS_PLATFORM_LINUX_GUEST_H
#define VS_PLATFORM_LINUX_GUEST_H

/*
 * vNQs and active vCPUs live inside the guest: the host cannot change them
 * itself. The Linux platform calls a guest actuator for an LC VM when the
 * plan changes its `queues` or `vcpus`. vspaced plugs in one agent link
 * (src/daemon/agentlink.h, over the proto_client of src/proto/) per workload
 * whose config has `agent=`; without one the pointer is NULL and the platform
 * logs once that the guest's parallelism stays as it is.
 *
 * Calls are made from the control loop and must not block for long: an
 * implementation should queue the command and return (an unreachable agent
 * never stops the loop, SPEC §5). The agent link records the value and
 * returns 0; it delivers (and re-delivers after a reconnect) on its own.
 */

struct vs_guest_actuator;

struct vs_guest_actuator_ops {
	/** Short name for logs ("agent"). */
	const char *name;
	/** Set the number of virtio-net queues of the guest NIC ifname to n
	 *  (channels, IRQ affinity to the active vCPUs, XPS). Returns 0, or a
	 *  negative errno (-EAGAIN: not connected yet, retried next period). */
	int (*set_vnq)(struct vs_guest_actuator *g, const char *ifname, int n);
	/** Keep n vCPUs active for the LC application. Returns 0 or -errno. */
	int (*set_vcpus)(struct vs_guest_actuator *g, int n);
	/** Release the actuator (restores nothing: the agent restores the guest
	 *  itself when the host goes away). May be NULL. */
	void (*close)(struct vs_guest_actuator *g);
};

/* Implementations embed this as their first member. */
struct vs_guest_actuator {
	const struct vs_guest_actuator_ops *ops;
};

#endif
