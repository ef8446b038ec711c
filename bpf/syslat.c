/* Syscall latency by syscall: raw_syscalls sys_enter -> sys_exit per thread, in a log2 histogram of
 * nanoseconds counted in the kernel per (syscall id, slot). Calls that never return to user space
 * (exit, execve on success) leave their start entry until the thread reuses it.
 */

struct start_t {
    u64 ts;
    u64 id;
};

struct hist_key {
    u32 id;
    u32 slot;
};

BPF_HASH(start, u32, struct start_t, START_ENTRIES);
BPF_HASH(hist, struct hist_key, u64, HIST_ENTRIES);
BPF_ARRAY(lost, u64, 1);

TRACEPOINT_PROBE(raw_syscalls, sys_enter)
{
    u32 tid = bpf_get_current_pid_tgid();
#ifdef FILTER_PID
    if ((bpf_get_current_pid_tgid() >> 32) != FILTER_PID)
        return 0;
#endif
    struct start_t s = {};
    s.ts = bpf_ktime_get_ns();
    s.id = args->id;
    start.update(&tid, &s);
    return 0;
}

TRACEPOINT_PROBE(raw_syscalls, sys_exit)
{
    u32 tid = bpf_get_current_pid_tgid();
    struct start_t *s = start.lookup(&tid);
    if (!s)
        return 0;
    struct hist_key h = {};
    h.id = s->id;
    h.slot = bpf_log2l(bpf_ktime_get_ns() - s->ts);
    start.delete(&tid);
    u64 zero = 0;
    u64 *count = hist.lookup_or_try_init(&h, &zero);
    if (count) {
        __sync_fetch_and_add(count, 1);
    } else {
        int z = 0;
        u64 *l = lost.lookup(&z);
        if (l)
            __sync_fetch_and_add(l, 1);
    }
    return 0;
}
