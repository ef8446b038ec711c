/* File opens (open, openat, openat2): the path is read at syscall exit, with the result.
 *
 * Reading the user string at entry can give an empty path when the page is not faulted in yet
 * (seen with bpftrace), so entry only remembers the pointer per thread and exit reads it. Events
 * go through a ring buffer consumed on the source's timer (no per-event wakeup); a full buffer is
 * counted in `drops`. HAVE_OPEN / HAVE_OPENAT2 are set by user space from tracefs (arm64 has no open).
 */

struct inflight_t {
    const char *path;
    u64 flags;
    u32 which;      /* 0 open, 1 openat, 2 openat2 */
};

struct open_event {
    u64 ts;         /* bpf_ktime_get_ns() at exit: CLOCK_MONOTONIC, moved onto the wall clock in user space */
    u32 pid;
    s32 ret;
    u32 flags;
    u32 which;
    char comm[16];
    char path[PATH_LEN];
};

BPF_HASH(inflight, u64, struct inflight_t, 10240);
BPF_RINGBUF_OUTPUT(open_events, RING_PAGES);
BPF_ARRAY(drops, u64, 1);
BPF_PERCPU_ARRAY(scratch, struct open_event, 1);

static __always_inline int remember(const char *path, u64 flags, u32 which)
{
    u64 id = bpf_get_current_pid_tgid();
    struct inflight_t v = {};
    v.path = path;
    v.flags = flags;
    v.which = which;
    inflight.update(&id, &v);
    return 0;
}

static __always_inline int report(long ret)
{
    u64 id = bpf_get_current_pid_tgid();
    struct inflight_t *v = inflight.lookup(&id);
    if (!v)
        return 0;
    int zero = 0;
    struct open_event *e = scratch.lookup(&zero);
    if (!e) {
        inflight.delete(&id);
        return 0;
    }
    e->ts = bpf_ktime_get_ns();
    e->pid = id >> 32;
    e->ret = ret;
    e->flags = v->flags;
    e->which = v->which;
    bpf_get_current_comm(&e->comm, sizeof(e->comm));
    if (bpf_probe_read_user_str(&e->path, sizeof(e->path), v->path) < 0)
        e->path[0] = 0;
    inflight.delete(&id);
    if (open_events.ringbuf_output(e, sizeof(*e), BPF_RB_NO_WAKEUP) != 0) {
        u64 *d = drops.lookup(&zero);
        if (d)
            __sync_fetch_and_add(d, 1);
    }
    return 0;
}

#ifdef HAVE_OPEN
TRACEPOINT_PROBE(syscalls, sys_enter_open) { return remember(args->filename, args->flags, 0); }
TRACEPOINT_PROBE(syscalls, sys_exit_open) { return report(args->ret); }
#endif

TRACEPOINT_PROBE(syscalls, sys_enter_openat) { return remember(args->filename, args->flags, 1); }
TRACEPOINT_PROBE(syscalls, sys_exit_openat) { return report(args->ret); }

#ifdef HAVE_OPENAT2
TRACEPOINT_PROBE(syscalls, sys_enter_openat2)
{
    u64 flags = 0;   /* struct open_how starts with u64 flags (uapi, stable) */
    bpf_probe_read_user(&flags, sizeof(flags), args->how);
    return remember(args->filename, flags, 2);
}
TRACEPOINT_PROBE(syscalls, sys_exit_openat2) { return report(args->ret); }
#endif
