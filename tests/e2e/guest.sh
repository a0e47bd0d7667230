# guest.sh - what the guest tests share (sourced): assemble the test guest, and pick the accelerator, KVM where it works.
#
# The sourcing test defines skip_all (prints a SKIP line and exits 0) and sets B (the build
# directory) and root (the repository) first.
#
#   guest_build LOG   scripts/guest/build into $B/LOG; a kernel download that failed skips the
#                     test (no archive here), any other failure fails it (exit 1, the log's last line)
#   guest_accel [KERNEL]
#                     sets accel (kvm or tcg) from VS_GUEST_ACCEL: kvm, tcg, or auto (the default):
#                     kvm when /dev/kvm is usable and a probe boot of KERNEL (default: the test
#                     guest's, $B/guest/vmlinuz) prints within
#                     GUEST_KVM_PROBE_S seconds, else tcg (nested KVM hangs on some hosts). The probe
#                     runs once per boot of this host and QEMU binary: its answer is kept in
#                     $B/guest/accel-probe, keyed by /proc/sys/kernel/random/boot_id.
#   guest_stop PID    SIGTERM, SIGKILL after 5 s, reaped (QEMU, or any process the test started;
#                     no PID: nothing)

# How long a KVM guest may take to print its first console line. Seen: under a working KVM the
# kernel prints within ~1 s of QEMU's start; on this 2-core host a hung nested KVM never does.
GUEST_KVM_PROBE_S=8

guest_stop() { # pid
	[ -n "$1" ] || return 0
	kill "$1" 2>/dev/null
	for _ in $(seq 50); do kill -0 "$1" 2>/dev/null || break; sleep 0.1; done
	kill -9 "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

guest_build() { # log file name under $B
	if ! "$root/scripts/guest/build" "$B" >"$B/$1" 2>&1; then
		grep -q "download" "$B/$1" && skip_all "cannot download the guest kernel: $(tail -1 "$B/$1")"
		echo "not ok 1 - scripts/guest/build: $(tail -1 "$B/$1")"
		echo "1..1"
		exit 1
	fi
}

# One short boot of KERNEL under KVM, no devices, no initramfs (it stops at the missing root with
# panic=-1 and -no-reboot); prints kvm when the kernel's banner came out in time.
guest_kvm_probe() { # kernel
	local d pid verdict=tcg
	d=$(mktemp -d /tmp/vs-kvmprobe-XXXXXX) || return 1
	qemu-system-x86_64 -accel kvm -m 128 -smp 1 -nodefaults -no-user-config -display none -no-reboot \
		-kernel "$1" -append "console=ttyS0 panic=-1" -serial "file:$d/console.log" \
		>"$d/qemu.log" 2>&1 &
	pid=$!
	for _ in $(seq $((GUEST_KVM_PROBE_S * 10))); do
		grep -q "Linux version" "$d/console.log" 2>/dev/null && { verdict=kvm; break; }
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	guest_stop "$pid"
	rm -rf "$d"
	echo "$verdict"
}

guest_accel() { # [kernel]
	local kernel=${1:-$B/guest/vmlinuz} key cache=$B/guest/accel-probe cached
	accel=${VS_GUEST_ACCEL:-auto}
	case "$accel" in
	kvm | tcg) return 0 ;;
	auto) ;;
	*)
		echo "not ok 1 - VS_GUEST_ACCEL=\"$accel\" is not auto, kvm or tcg"
		echo "1..1"
		exit 1
		;;
	esac
	accel=tcg
	[ -r /dev/kvm ] && [ -w /dev/kvm ] || return 0
	key="$(cat /proc/sys/kernel/random/boot_id 2>/dev/null) $(qemu-system-x86_64 --version | head -1)"
	cached=$(cat "$cache" 2>/dev/null)
	if [ "${cached#* }" = "$key" ] && [[ ${cached%% *} =~ ^(kvm|tcg)$ ]]; then
		accel=${cached%% *}
		echo "# accelerator: $accel (the probe's answer for this host boot, $cache)"
		return 0
	fi
	mkdir -p "$B/guest"
	accel=$(guest_kvm_probe "$kernel") || accel=tcg
	echo "$accel $key" >"$cache"
	if [ "$accel" = kvm ]; then
		echo "# accelerator: kvm (a probe guest printed within ${GUEST_KVM_PROBE_S} s)"
	else
		echo "# accelerator: tcg (KVM: a probe guest printed nothing within ${GUEST_KVM_PROBE_S} s)"
	fi
}
