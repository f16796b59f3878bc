/// The sandbox every container gets unless its securityContext asks otherwise — Docker's
/// defaults, which Kubernetes users expect.
public enum DefaultSecurity {
    /// Docker's default capability set (14 capabilities).
    public static let capabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
    ]

    /// Every capability, for `privileged: true` and for names in `capabilities.add`.
    public static let allCapabilities = [
        "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL", "CAP_SETGID",
        "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST", "CAP_NET_ADMIN",
        "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT", "CAP_SYS_PTRACE",
        "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE", "CAP_SYS_TIME",
        "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL", "CAP_SETFCAP",
        "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND", "CAP_AUDIT_READ",
        "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE",
    ]

    /// Docker's masked paths: bind-mounted over with /dev/null (files) or an empty read-only tmpfs.
    public static let maskedPaths = [
        "/proc/asound", "/proc/acpi", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
        "/proc/timer_stats", "/proc/sched_debug", "/proc/scsi", "/sys/firmware", "/sys/devices/virtual/powercap",
    ]

    public static let readonlyPaths = ["/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"]

    /// The system calls Docker's default seccomp profile refuses to a container without extra
    /// capabilities, expressed as a deny list (EPERM) over an allow-by-default filter. Docker's
    /// profile is an allow list with argument filters; its `clone` filter (no new namespaces) and
    /// its `clone3` answer (ENOSYS, so libc falls back to the filterable `clone`) are reproduced
    /// below; its `personality` value list is not.
    public static let deniedSyscalls = [
        "acct", "add_key", "bpf", "clock_adjtime", "clock_settime", "create_module", "delete_module", "fanotify_init",
        "finit_module", "fsconfig", "fsmount", "fsopen", "fspick", "get_kernel_syms", "get_mempolicy", "init_module",
        "ioperm", "iopl", "kcmp", "kexec_file_load", "kexec_load", "keyctl", "lookup_dcookie", "mbind", "mount",
        "mount_setattr", "move_mount", "move_pages", "name_to_handle_at", "nfsservctl", "open_by_handle_at", "open_tree",
        "perf_event_open", "pivot_root", "process_vm_readv", "process_vm_writev", "query_module", "quotactl",
        "quotactl_fd", "reboot", "request_key", "set_mempolicy", "setns", "settimeofday", "stime", "swapoff", "swapon",
        "syslog", "sysfs", "_sysctl", "umount", "umount2", "unshare", "uselib", "userfaultfd", "ustat", "vm86", "vm86old",
    ]

    /// With CAP_SYS_ADMIN a container may make namespaces, as under Docker's profile.
    public static func seccompProfile(mayCreateNamespaces: Bool = false) -> RuntimeSpec.Seccomp {
        RuntimeSpec.Seccomp(
            defaultAction: "SCMP_ACT_ALLOW",
            architectures: ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_ARM"],
            syscalls: [RuntimeSpec.SyscallRule(names: deniedSyscalls, action: "SCMP_ACT_ERRNO", errnoRet: 1)] + (mayCreateNamespaces ? [] : namespaceCloneRules))
    }

    /// CLONE_NEWNS, NEWCGROUP, NEWUTS, NEWIPC, NEWUSER, NEWPID, NEWNET: a container may not make
    /// namespaces (a user namespace would hand it a full capability set inside). One rule per
    /// flag, as a filter matches `(flags & mask) == value`.
    public static let namespaceCloneFlags: [UInt64] = [0x0002_0000, 0x0200_0000, 0x0400_0000, 0x0800_0000, 0x1000_0000, 0x2000_0000, 0x4000_0000]

    static var namespaceCloneRules: [RuntimeSpec.SyscallRule] {
        namespaceCloneFlags.map { flag in
            RuntimeSpec.SyscallRule(names: ["clone"], action: "SCMP_ACT_ERRNO", errnoRet: 1,
                                    args: [.init(index: 0, value: flag, valueTwo: flag, op: "SCMP_CMP_MASKED_EQ")])
        } + [RuntimeSpec.SyscallRule(names: ["clone3"], action: "SCMP_ACT_ERRNO", errnoRet: 38)]
    }
}
