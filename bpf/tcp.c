/* TCP connect latency and retransmits from tracepoints only (no kprobes, no struct sock reads).
 *
 * sock:inet_sock_set_state -> SYN_SENT runs in the connecting process, so the owner (pid, comm)
 * and the start time are kept per socket address. -> ESTABLISHED from SYN_SENT reports the
 * latency; -> CLOSE from SYN_SENT reports a failed connect (refused or timed out). The owner stays
 * until CLOSE because tcp:tcp_retransmit_skb fires in softirq context, where the current task is
 * whoever was interrupted (often swapper, pid 0).
 */

#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_CLOSE_ 7
#define AF_INET_ 2
#define PROTO_TCP 6

struct owner_t {
    u64 start_ns;   /* 0 once established */
    u32 pid;
    u32 pad;
    char comm[16];
};

struct tcp_event {
    u32 kind;       /* 1 connect ok, 2 connect failed, 3 retransmit */
    u32 pid;
    u64 latency_ns;
    u16 sport;
    u16 dport;
    u16 family;
    u16 state;
    u8 saddr[16];
    u8 daddr[16];
    char comm[16];
};

BPF_HASH(owner, u64, struct owner_t, 16384);
BPF_RINGBUF_OUTPUT(tcp_events, RING_PAGES);
BPF_ARRAY(drops, u64, 1);

static __always_inline void emit(struct tcp_event *e)
{
    if (tcp_events.ringbuf_output(e, sizeof(*e), BPF_RB_NO_WAKEUP) != 0) {
        int zero = 0;
        u64 *d = drops.lookup(&zero);
        if (d)
            __sync_fetch_and_add(d, 1);
    }
}

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
    if (args->protocol != PROTO_TCP)
        return 0;
    u64 sk = (u64)args->skaddr;
    int newstate = args->newstate;
    if (newstate == TCP_SYN_SENT_) {
        struct owner_t o = {};
        o.start_ns = bpf_ktime_get_ns();
        o.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(&o.comm, sizeof(o.comm));
        owner.update(&sk, &o);
        return 0;
    }
    if (newstate != TCP_ESTABLISHED_ && newstate != TCP_CLOSE_)
        return 0;
    struct owner_t *o = owner.lookup(&sk);
    if (!o)
        return 0;
    if (args->oldstate == TCP_SYN_SENT_ && o->start_ns) {
        struct tcp_event e = {};
        e.kind = newstate == TCP_ESTABLISHED_ ? 1 : 2;
        e.pid = o->pid;
        e.latency_ns = bpf_ktime_get_ns() - o->start_ns;
        e.sport = args->sport;
        e.dport = args->dport;
        e.family = args->family;
        if (args->family == AF_INET_) {
            __builtin_memcpy(e.saddr, args->saddr, 4);
            __builtin_memcpy(e.daddr, args->daddr, 4);
        } else {
            __builtin_memcpy(e.saddr, args->saddr_v6, 16);
            __builtin_memcpy(e.daddr, args->daddr_v6, 16);
        }
        __builtin_memcpy(e.comm, o->comm, 16);
        emit(&e);
        o->start_ns = 0;
    }
    if (newstate == TCP_CLOSE_)
        owner.delete(&sk);
    return 0;
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb)
{
    u64 sk = (u64)args->skaddr;
    struct tcp_event e = {};
    e.kind = 3;
    struct owner_t *o = owner.lookup(&sk);
    if (o) {
        e.pid = o->pid;
        __builtin_memcpy(e.comm, o->comm, 16);
    } else {
        e.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(&e.comm, sizeof(e.comm));
    }
    e.sport = args->sport;
    e.dport = args->dport;
    e.family = args->family;
    e.state = args->state;
    if (args->family == AF_INET_) {
        __builtin_memcpy(e.saddr, args->saddr, 4);
        __builtin_memcpy(e.daddr, args->daddr, 4);
    } else {
        __builtin_memcpy(e.saddr, args->saddr_v6, 16);
        __builtin_memcpy(e.daddr, args->daddr_v6, 16);
    }
    emit(&e);
    return 0;
}
