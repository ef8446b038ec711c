/* On-CPU profile: a software CPU-clock perf event on every CPU samples the running task; kernel
 * and user stacks go into a stack-trace map and each (pid, cgroup, user stack, kernel stack, comm)
 * is counted in the kernel, so Python reads one map per interval instead of one event per sample.
 * The key has no padding (padded keys lost matches in testing) and is zeroed before use.
 * Idle samples (pid 0) are only counted, as bcc's profile leaves them out by default.
 */
#include <uapi/linux/ptrace.h>
#include <uapi/linux/bpf_perf_event.h>

struct stack_key {
    u32 pid;
    s32 user_stack;
    s32 kernel_stack;
    u32 pad;
    u64 cgroup;
    char comm[16];
};

BPF_HASH(counts, struct stack_key, u64, COUNT_ENTRIES);
BPF_STACK_TRACE(stacks, STACK_ENTRIES);
/* 0 samples taken, 1 idle samples, 2 counts map full, 3 user stack lost, 4 kernel stack lost */
BPF_ARRAY(stats, u64, 5);

static __always_inline void bump(int index)
{
    u64 *value = stats.lookup(&index);
    if (value)
        __sync_fetch_and_add(value, 1);
}

int on_cpu_sample(struct bpf_perf_event_data *ctx)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    bump(0);
    if (pid == 0) {
        bump(1);
        return 0;
    }
#ifdef FILTER_PID
    if (pid != FILTER_PID)
        return 0;
#endif
    struct stack_key key;
    __builtin_memset(&key, 0, sizeof(key));
    key.pid = pid;
    key.cgroup = bpf_get_current_cgroup_id();
    bpf_get_current_comm(&key.comm, sizeof(key.comm));
    key.user_stack = stacks.get_stackid(&ctx->regs, BPF_F_USER_STACK);
    key.kernel_stack = stacks.get_stackid(&ctx->regs, 0);
    /* -EFAULT (14) is "no stack of this kind" (kernel threads have no user stack, user code
     * interrupted in user mode has no kernel stack); anything else is a lost stack. */
    if (key.user_stack < 0 && key.user_stack != -14)
        bump(3);
    if (key.kernel_stack < 0 && key.kernel_stack != -14)
        bump(4);
    u64 zero = 0;
    u64 *count = counts.lookup_or_try_init(&key, &zero);
    if (count)
        __sync_fetch_and_add(count, 1);
    else
        bump(2);
    return 0;
}
