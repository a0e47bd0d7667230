/* kvmstat.h - KVM's per-VM statistics in debugfs: find a QEMU process's VM directory, read its halt-polling time. */
#ifndef VS_PLATFORM_LINUX_KVMSTAT_H
#define VS_PLATFORM_LINUX_KVMSTAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * KVM creates, for every VM, a debugfs directory named "<pid>-<fd>" (the
 * creating process and the VM's file descriptor in it) under
 * /sys/kernel/debug/kvm (kvm_create_vm_debugfs). Its files are the VM's
 * statistics, a vCPU statistic being the sum over the VM's vCPUs, one number
 * per file ("%llu\n"). x86 kernels also give each vCPU a "vcpuN"
 * subdirectory, holding arch state (tsc-offset, lapic_timer_advance_ns, ...)
 * but not the generic counters, so the per-VM sums are what we read.
 *
 * halt_poll_success_ns + halt_poll_fail_ns is "the total cpu time spent
 * polling" (kvm commit cb953129bfe5, Linux 5.8). Paths are relative to the
 * sysfs root fd (root/sys).
 */

/* KVM's directory below sys/. */
#define KVMSTAT_DIR "kernel/debug/kvm"
/* Most VM directories of one process looked at. */
#define KVMSTAT_MAX_VMS 16

struct kvmstat_vm {
	char name[32]; /* "<pid>-<fd>" */
	int fd;	       /* the VM's fd in the process */
	int n_vcpus;   /* vcpuN subdirectories */
};

/* Parse a counter file's text: a whole number, an optional trailing newline.
 * Returns 0 or -1 (empty, sign, junk, out of range). */
int kvmstat_parse_u64(const char *text, uint64_t *out);

/* The VM directories of process pid (ascending fd), at most max. Returns the
 * count (>= 1), or -1 with why saying what is missing: debugfs not mounted,
 * KVM not loaded, no directory for the pid, no permission. */
int kvmstat_find(int sys_fd, int pid, struct kvmstat_vm *vms, int max, char *why, size_t whylen);

/* Of n >= 1 directories of one process, the one whose counters describe the
 * VM: the most vCPU subdirectories (probe VMs have none), then the highest
 * fd (the most recently created). Writes the reason into why when n > 1. */
int kvmstat_choose(const struct kvmstat_vm *vms, int n, char *why, size_t whylen);

enum kvmstat_read {
	KVMSTAT_OK = 0,
	KVMSTAT_GONE,	 /* the VM directory no longer exists (VM closed or restarted) */
	KVMSTAT_MISSING, /* the directory exists, the counters do not (Linux < 5.8) */
	KVMSTAT_GARBAGE, /* a counter file does not hold a number */
	KVMSTAT_ERROR,	 /* another read error (permission, I/O) */
};

/* Open the VM directory vm ("4000-11") as an O_PATH fd, kept while the VM
 * is followed (it pins no VM: only an open stat file does, so those are
 * opened and closed at each read). Returns the fd, or -1 (errno). */
int kvmstat_open_vm(int sys_fd, const char *vm);

/* Read halt_poll_success_ns + halt_poll_fail_ns of the VM directory vm_fd
 * (named vm, for messages; sys_fd to tell a directory that is gone from one
 * without the files). KVMSTAT_OK with *total_ns, or another code with err. */
enum kvmstat_read kvmstat_read_poll(int sys_fd, int vm_fd, const char *vm, uint64_t *total_ns,
				    char *err, size_t errlen);

#endif
