# sandbox.sh - a private libvirtd for tests (sourced): Debian's libvirtd in the foreground, in a
# network namespace of the test's and a mount namespace of its own where private directories are
# bind-mounted over /etc/libvirt, /run/libvirt, /var/{lib,cache,log}/libvirt. The host's own
# libvirt directories are never read or written; everything lives under one directory.
#
#   . tests/libvirt/sandbox.sh
#   lvs_init DIR NETNS [CAPS_CACHE]   config files under DIR; LVS_URI is the URI for clients
#   lvs_start                         libvirtd up and answering (bounded wait); LVS_PID
#   lvs_stop [KILL]                   SIGTERM (or SIGKILL) libvirtd; its VMs keep running
#   lvs_guest_xml NAME ...            a domain booting the e2e guest (scripts/guest/build)
#   lvs_teardown                      every domain destroyed, libvirtd stopped, leftover QEMU
#                                     killed by pid, the cgroups libvirt made removed
#
# Why each piece (measured on Debian 12, libvirt 9.0):
# - The QEMU driver resolves its built-in user "libvirt-qemu" before it reads qemu.conf and
#   refuses to start without it (Debian's libvirt-daemon-system creates it, but also pulls in
#   systemd as init). Where the host has no such user, the mount namespace gets a copy of
#   /etc/passwd and /etc/group with it added; qemu.conf runs QEMU as root either way.
# - stdio_handler = "file": QEMU's output goes to a file, not through virtlogd (not running).
# - security_driver = "none", namespaces = []: no AppArmor/SELinux labels, no private /dev.
# - The QEMU capabilities probe takes ~8 s per start; the probe's result is cached in
#   CAPS_CACHE (copied in before a start, copied out after), and libvirt re-probes whenever the
#   QEMU or libvirtd binary changed.
# - libvirtd runs in the test's network namespace (nsenter, not `ip netns exec`, which would
#   remount /sys and hide the cgroup hierarchies), so QEMU opens the namespace's tap device.
# - libvirtd places VMs in /machine/qemu-ID-NAME.libvirt-qemu of the cgroup v1 hierarchies (no
#   systemd-machined here); lvs_teardown removes what is left of them and /machine if it made it.

LVS_DIR= LVS_NS= LVS_URI= LVS_PID= LVS_CAPS= LVS_MACHINE_NEW=

lvs_log() { echo "# sandbox: $*"; }

lvs_init() { # dir netns [caps_cache]
	LVS_DIR=$1 LVS_NS=$2 LVS_CAPS=${3:-}
	mkdir -p "$LVS_DIR"/{etc,run,lib,cache/qemu/capabilities,log}
	LVS_URI="qemu:///system?socket=$LVS_DIR/run/libvirt-sock"
	cat >"$LVS_DIR/etc/libvirtd.conf" <<-EOF
		# vspace test sandbox: local socket only, root only, no authentication
		unix_sock_dir = "/run/libvirt"
		unix_sock_rw_perms = "0700"
		unix_sock_ro_perms = "0700"
		unix_sock_admin_perms = "0700"
		auth_unix_rw = "none"
		auth_unix_ro = "none"
		log_outputs = "3:stderr"
	EOF
	cat >"$LVS_DIR/etc/qemu.conf" <<-EOF
		user = "root"
		group = "root"
		dynamic_ownership = 0
		remember_owner = 0
		security_driver = "none"
		stdio_handler = "file"
		namespaces = [ ]
		cgroup_controllers = [ "cpuset", "cpu", "cpuacct" ]
	EOF
	if ! getent passwd libvirt-qemu >/dev/null; then
		cp /etc/passwd "$LVS_DIR/passwd"
		cp /etc/group "$LVS_DIR/group"
		echo "libvirt-qemu:x:64055:64055:libvirt QEMU (vspace sandbox):/var/lib/libvirt:/usr/sbin/nologin" >>"$LVS_DIR/passwd"
		getent group libvirt-qemu >/dev/null || echo "libvirt-qemu:x:64055:" >>"$LVS_DIR/group"
	fi
	cat >"$LVS_DIR/start" <<-'EOF'
		#!/bin/bash
		# runs inside the new mount namespace: private directories over libvirt's, then libvirtd
		set -e
		D=$1
		mount -t tmpfs -o mode=0755 lvs-run /run
		mkdir /run/libvirt
		mount --bind "$D/run" /run/libvirt
		for p in lib cache log; do
			mount -t tmpfs -o mode=0755 "lvs-$p" "/var/$p"
			mkdir "/var/$p/libvirt"
			mount --bind "$D/$p" "/var/$p/libvirt"
		done
		mount --bind "$D/etc" /etc/libvirt
		if [ -f "$D/passwd" ]; then
			mount --bind "$D/passwd" /etc/passwd
			mount --bind "$D/group" /etc/group
		fi
		exec libvirtd -f /etc/libvirt/libvirtd.conf -p /run/libvirt/libvirtd.pid
	EOF
	chmod 755 "$LVS_DIR/start"
	LVS_MACHINE_NEW=
	local c
	for c in /sys/fs/cgroup/*/; do
		[ -L "${c%/}" ] && continue
		[ -d "$c/machine" ] || LVS_MACHINE_NEW+=" ${c}machine"
	done
}

lvs_virsh() { timeout 30 virsh -q -c "$LVS_URI" "$@"; }

lvs_start() { # -> 0 when libvirtd answers within 60 s
	local i
	if [ -n "$LVS_CAPS" ] && [ -d "$LVS_CAPS" ]; then
		cp "$LVS_CAPS"/*.xml "$LVS_DIR/cache/qemu/capabilities/" 2>/dev/null
	fi
	rm -f "$LVS_DIR/run/libvirt-sock"
	nsenter --net="/run/netns/$LVS_NS" unshare --mount --propagation private \
		"$LVS_DIR/start" "$LVS_DIR" >>"$LVS_DIR/libvirtd.log" 2>&1 &
	LVS_PID=$!
	for i in $(seq 600); do
		kill -0 "$LVS_PID" 2>/dev/null || { lvs_log "libvirtd exited: $(tail -3 "$LVS_DIR/libvirtd.log")"; return 1; }
		[ -S "$LVS_DIR/run/libvirt-sock" ] && lvs_virsh version >/dev/null 2>&1 && break
		sleep 0.1
	done
	[ "$i" -lt 600 ] || { lvs_log "libvirtd does not answer after 60 s"; return 1; }
	if [ -n "$LVS_CAPS" ] && mkdir -p "$LVS_CAPS" 2>/dev/null; then
		local f
		for f in "$LVS_DIR"/cache/qemu/capabilities/*.xml; do
			[ -f "$f" ] || continue
			cmp -s "$f" "$LVS_CAPS/${f##*/}" && continue
			cp "$f" "$LVS_CAPS/.${f##*/}.$$" && mv "$LVS_CAPS/.${f##*/}.$$" "$LVS_CAPS/${f##*/}"
		done
	fi
	return 0
}

lvs_stop() { # [KILL]
	[ -n "$LVS_PID" ] || return 0
	kill -"${1:-TERM}" "$LVS_PID" 2>/dev/null
	for _ in $(seq 100); do kill -0 "$LVS_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$LVS_PID" 2>/dev/null
	wait "$LVS_PID" 2>/dev/null
	LVS_PID=
}

lvs_qemu_pid() { # name
	cat "$LVS_DIR/run/qemu/$1.pid" 2>/dev/null
}

# A domain booting the e2e test guest, of type LVS_DOMAIN_TYPE (default qemu: TCG; or kvm): VCPUS
# vCPUs, one IOThread, a virtio-net NIC with QUEUES queues on the existing multi-queue tap TAP
# (type='ethernet', managed='no'; "-": no NIC), the agent on the virtio-serial port "vspace.agent"
# (a unix socket QEMU listens on), ttyS0 to console.log and ttyS1 to state.log in DIR (the guest
# writes its state there, scripts/guest/init).
lvs_guest_xml() { # name build_dir dir tap mac guest_ip/prefix vcpus queues
	cat <<-EOF
		<domain type='${LVS_DOMAIN_TYPE:-qemu}'>
		  <name>$1</name>
		  <memory unit='MiB'>384</memory>
		  <vcpu placement='static'>$7</vcpu>
		  <iothreads>1</iothreads>
		  <os>
		    <type arch='x86_64' machine='pc'>hvm</type>
		    <kernel>$2/guest/vmlinuz</kernel>
		    <initrd>$2/guest/initramfs.gz</initrd>
		    <cmdline>console=ttyS0 panic=-1 vsa.ip=$6 vsa.state=ttyS1</cmdline>
		  </os>
		  <on_poweroff>destroy</on_poweroff>
		  <on_reboot>destroy</on_reboot>
		  <on_crash>destroy</on_crash>
		  <devices>
		    <emulator>$(command -v qemu-system-x86_64)</emulator>
		    <controller type='usb' model='none'/>
		    <controller type='virtio-serial' index='0'/>
$([ "$4" = - ] || printf "%s\n" "    <interface type='ethernet'>" \
		"      <target dev='$4' managed='no'/>" "      <mac address='$5'/>" \
		"      <model type='virtio'/>" "      <driver name='qemu' queues='$8'/>" "    </interface>")
		    <serial type='file'><source path='$3/console.log'/><target port='0'/></serial>
		    <serial type='file'><source path='$3/state.log'/><target port='1'/></serial>
		    <channel type='unix'>
		      <source mode='bind' path='$3/agent.sock'/>
		      <target type='virtio' name='vspace.agent'/>
		    </channel>
		    <memballoon model='none'/>
		  </devices>
		</domain>
	EOF
}

lvs_teardown() {
	local d pids= p c
	[ -n "$LVS_DIR" ] || return 0
	for p in "$LVS_DIR"/run/qemu/*.pid; do [ -f "$p" ] && pids+=" $(cat "$p")"; done
	if [ -n "$LVS_PID" ] && kill -0 "$LVS_PID" 2>/dev/null; then
		for d in $(lvs_virsh list --name 2>/dev/null); do lvs_virsh destroy "$d" >/dev/null 2>&1; done
	fi
	lvs_stop
	# QEMU processes libvirt did not stop (libvirtd killed, or destroy failed)
	for p in $pids; do
		[ "$(cat /proc/"$p"/comm 2>/dev/null)" = qemu-system-x86 ] || continue
		kill -KILL "$p" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
	done
	# the VM cgroups of this sandbox's domains, then /machine where this run made it
	for p in "$LVS_DIR"/etc/qemu/*.xml; do
		[ -f "$p" ] || continue
		d=$(basename "$p" .xml)
		for c in /sys/fs/cgroup/*/machine/qemu-*-"$d".libvirt-qemu; do
			[ -d "$c" ] || continue
			find "$c" -depth -type d -exec rmdir {} + 2>/dev/null
		done
	done
	for c in $LVS_MACHINE_NEW; do rmdir "$c" 2>/dev/null; done
	LVS_DIR=
}
