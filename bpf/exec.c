/* Local process events from tracepoints only, for the Processes pane when no Tetragon answers.
 *
 * sched_process_fork   -> remember (child pid -> forking process, time) in an LRU map
 * sched_process_exec   -> EXEC: pid, old tid, uid, time, filename (__data_loc), and the fork record
 * sys_enter_exit_group -> remember the exit status of the thread group
 * signal_deliver       -> remember a fatal default-action signal (killed processes never call exit_group)
 * sched_process_exit   -> EXIT when the whole group is dead: status or signal, and the fork record
 *
 * Events go through a ring buffer (adaptive wakeups: no per-event perf wakeup cost); a failed
 * reserve is counted in `lost`. No kernel struct is read: only tracepoint fields and helpers, so
 * headers of another kernel version are fine. `parent_comm` is a __data_loc on new kernels and a
 * char[16] on old ones, so it is not read at all (user space has the parent's image already).
 */

#define EV_EXEC 1
#define EV_EXIT 2
#define FILENAME_LEN 256

struct fork_t {
    u64 ktime;          /* when the child was forked */
    u32 parent_tgid;    /* the forking process (current->tgid in the fork tracepoint) */
    u32 pad;
};

struct event_t {
    u32 type;
    u32 pid;            /* thread group id */
    u32 tid;            /* exec: the tid that called execve (old_pid) */
    u32 uid;
    u64 ktime;          /* CLOCK_MONOTONIC ns of the event */
    u64 fork_ktime;     /* 0 when no fork was recorded for this pid */
    u32 parent_tgid;    /* 0 when no fork was recorded */
    s32 code;           /* exit: exit_group status (valid when has_code) */
    u32 has_code;
    u32 signal;         /* exit: fatal signal delivered, 0 if none */
    char comm[16];
    char filename[FILENAME_LEN];
};

BPF_RINGBUF_OUTPUT(events, RINGBUF_PAGES);
BPF_TABLE("lru_hash", u32, struct fork_t, forks, FORK_ENTRIES);
BPF_TABLE("lru_hash", u32, s32, exit_codes, FORK_ENTRIES);
BPF_TABLE("lru_hash", u32, u32, fatal_signals, FORK_ENTRIES);
BPF_ARRAY(lost, u64, 1);

static __always_inline void count_lost(void)
{
    int zero = 0;
    u64 *value = lost.lookup(&zero);
    if (value)
        lock_xadd(value, 1);
}

TRACEPOINT_PROBE(sched, sched_process_fork)
{
    struct fork_t record = {};
    record.ktime = bpf_ktime_get_ns();
    record.parent_tgid = bpf_get_current_pid_tgid() >> 32;
    u32 child = args->child_pid;
    forks.update(&child, &record);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exec)
{
    struct event_t *event = events.ringbuf_reserve(sizeof(struct event_t));
    if (!event) {
        count_lost();
        return 0;
    }
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    event->type = EV_EXEC;
    event->pid = pid;
    event->tid = args->old_pid;
    event->uid = bpf_get_current_uid_gid() & 0xffffffff;
    event->ktime = bpf_ktime_get_ns();
    event->code = 0;
    event->has_code = 0;
    event->signal = 0;
    struct fork_t *record = forks.lookup(&pid);
    if (record) {
        event->fork_ktime = record->ktime;
        event->parent_tgid = record->parent_tgid;
        forks.delete(&pid);   /* a later exec of the same process is an exec without fork */
    } else {
        event->fork_ktime = 0;
        event->parent_tgid = 0;
    }
    bpf_get_current_comm(&event->comm, sizeof(event->comm));
    TP_DATA_LOC_READ_STR(&event->filename, filename, sizeof(event->filename));
    events.ringbuf_submit(event, 0);
    return 0;
}

TRACEPOINT_PROBE(syscalls, sys_enter_exit_group)
{
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    s32 code = args->error_code;
    exit_codes.update(&pid, &code);
    return 0;
}

TRACEPOINT_PROBE(signal, signal_deliver)
{
    /* A signal delivered with the default action that terminates the process. */
    if (args->sa_handler != 0)
        return 0;
    int sig = args->sig;
    /* terminate or core by default: everything but SIGCHLD(17) SIGCONT(18) SIGSTOP(19) SIGTSTP(20)
       SIGTTIN(21) SIGTTOU(22) SIGURG(23) SIGWINCH(28) */
    if (sig <= 0 || sig > 31 || (sig >= 17 && sig <= 23) || sig == 28)
        return 0;
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    u32 value = sig;
    fatal_signals.update(&pid, &value);
    return 0;
}

TRACEPOINT_PROBE(sched, sched_process_exit)
{
    u64 pid_tgid = bpf_get_current_pid_tgid();
    u32 pid = pid_tgid >> 32;
    u32 tid = (u32)pid_tgid;
#ifdef HAVE_GROUP_DEAD
    if (!args->group_dead) {
        if (tid != pid)
            forks.delete(&tid);   /* a thread: its fork record is not a process */
        return 0;
    }
#else
    if (tid != pid) {
        forks.delete(&tid);
        return 0;
    }
#endif
    struct event_t *event = events.ringbuf_reserve(sizeof(struct event_t));
    if (!event) {
        count_lost();
        return 0;
    }
    event->type = EV_EXIT;
    event->pid = pid;
    event->tid = tid;
    event->uid = bpf_get_current_uid_gid() & 0xffffffff;
    event->ktime = bpf_ktime_get_ns();
    s32 *code = exit_codes.lookup(&pid);
    if (code) {
        event->code = *code;
        event->has_code = 1;
        exit_codes.delete(&pid);
    } else {
        event->code = 0;
        event->has_code = 0;
    }
    u32 *sig = fatal_signals.lookup(&pid);
    if (sig) {
        event->signal = *sig;
        fatal_signals.delete(&pid);
    } else {
        event->signal = 0;
    }
    struct fork_t *record = forks.lookup(&pid);
    if (record) {
        event->fork_ktime = record->ktime;
        event->parent_tgid = record->parent_tgid;
        forks.delete(&pid);
    } else {
        event->fork_ktime = 0;
        event->parent_tgid = 0;
    }
    bpf_get_current_comm(&event->comm, sizeof(event->comm));
    event->filename[0] = 0;
    events.ringbuf_submit(event, 0);
    return 0;
}
