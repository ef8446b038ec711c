/* Run-queue latency: time from a task becoming runnable (sched_wakeup, sched_wakeup_new, or being
 * preempted while runnable) to running (sched_switch in), in a log2 histogram of microseconds counted
 * in the kernel per (process, cgroup, slot). sched_switch runs in the context of the task leaving the
 * CPU, so the incoming task's tgid and cgroup are learnt whenever that task itself leaves a CPU
 * (tinfo) instead of reading task_struct (the installed headers do not match this kernel).
 * Keys have no padding and are zeroed before use.
 */

struct tinfo_t {
    u32 tgid;
    u32 pad;
    u64 cgroup;
};

struct hist_key {
    u32 tgid;
    u32 slot;
    u64 cgroup;
    char comm[16];
};

BPF_HASH(start, u32, u64, START_ENTRIES);
BPF_HASH(tinfo, u32, struct tinfo_t, START_ENTRIES);
BPF_HASH(hist, struct hist_key, u64, HIST_ENTRIES);
BPF_ARRAY(lost, u64, 1);

static __always_inline void enqueued(u32 tid)
{
    if (tid == 0)
        return;
    u64 now = bpf_ktime_get_ns();
    start.update(&tid, &now);
}

TRACEPOINT_PROBE(sched, sched_wakeup)
{
    enqueued(args->pid);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_wakeup_new)
{
    enqueued(args->pid);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_switch)
{
    u32 prev = args->prev_pid;
    if (prev != 0) {
        struct tinfo_t info = {};
        info.tgid = bpf_get_current_pid_tgid() >> 32;
        info.cgroup = bpf_get_current_cgroup_id();
        tinfo.update(&prev, &info);
        /* preempted while runnable (state 0, or TASK_REPORT_MAX on newer kernels): queued again */
        if ((args->prev_state & 0xff) == 0)
            enqueued(prev);
    }
    u32 next = args->next_pid;
    if (next == 0)
        return 0;
    u64 *ts = start.lookup(&next);
    if (!ts)
        return 0;
    u64 delta_us = (bpf_ktime_get_ns() - *ts) / 1000;
    start.delete(&next);
    struct hist_key key;
    __builtin_memset(&key, 0, sizeof(key));
    struct tinfo_t *info = tinfo.lookup(&next);
    key.tgid = info ? info->tgid : next;
    key.cgroup = info ? info->cgroup : 0;
    key.slot = bpf_log2l(delta_us);
    bpf_probe_read_kernel(&key.comm, sizeof(key.comm), args->next_comm);
    u64 zero = 0;
    u64 *count = hist.lookup_or_try_init(&key, &zero);
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
