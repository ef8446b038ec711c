/* TCP sockets and their owners for the flow/process join, from sock:inet_sock_set_state only.
 *
 * Tracepoint fields only (no struct sock reads: the installed headers are not the kernel's).
 * - -> SYN_SENT runs in the connecting task (connect()), before the source port is chosen: the owner
 *   (tgid, comm, cgroup id) and the time are kept per socket address; the connect is reported at
 *   SYN_SENT -> ESTABLISHED (or -> CLOSE: refused, timed out), when the 5-tuple is complete, with the
 *   SYN_SENT time as the socket's start.
 * - -> LISTEN runs in the task that called listen(): it owns the port. Accepted sockets become
 *   ESTABLISHED in softirq context (the current task is whoever was interrupted), so their owner is
 *   the listener of their local port.
 * - -> CLOSE of a reported socket ends its lifetime (a reused ephemeral port starts a new one).
 */

#define TCP_ESTABLISHED_ 1
#define TCP_SYN_SENT_ 2
#define TCP_SYN_RECV_ 3
#define TCP_CLOSE_ 7
#define TCP_LISTEN_ 10
#define AF_INET_ 2
#define PROTO_TCP 6

#define KIND_CONNECT 1
#define KIND_ACCEPT 2
#define KIND_CLOSE 3

struct owner_t {
    u64 ts_ns;
    u64 cgroup;
    u32 pid;
    u32 pad;
    char comm[16];
};

struct sock_event {
    u64 ts_ns;
    u64 cgroup;
    u32 kind;
    u32 pid;
    u16 sport;
    u16 dport;
    u16 family;
    u16 pad;
    u8 saddr[16];
    u8 daddr[16];
    char comm[16];
};

struct listen_key {
    u32 family;
    u32 port;
};

BPF_HASH(connecting, u64, struct owner_t, 16384);
BPF_HASH(listeners, struct listen_key, struct owner_t, 4096);
BPF_HASH(reported, u64, u8, 65536);
BPF_RINGBUF_OUTPUT(sock_events, RING_PAGES);
BPF_ARRAY(drops, u64, 1);

static __always_inline void fill_owner(struct owner_t *o)
{
    o->ts_ns = bpf_ktime_get_ns();
    o->cgroup = bpf_get_current_cgroup_id();
    o->pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(&o->comm, sizeof(o->comm));
}

static __always_inline void emit(struct sock_event *e)
{
    if (sock_events.ringbuf_output(e, sizeof(*e), BPF_RB_NO_WAKEUP) != 0) {
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
    int oldstate = args->oldstate;

    if (newstate == TCP_SYN_SENT_) {
        struct owner_t o = {};
        fill_owner(&o);
        connecting.update(&sk, &o);
        return 0;
    }
    if (newstate == TCP_LISTEN_) {
        struct listen_key k = {};
        k.family = args->family;
        k.port = args->sport;
        struct owner_t o = {};
        fill_owner(&o);
        listeners.update(&k, &o);
        return 0;
    }
    if (oldstate == TCP_LISTEN_ && newstate == TCP_CLOSE_) {
        struct listen_key k = {};
        k.family = args->family;
        k.port = args->sport;
        listeners.delete(&k);
        return 0;
    }

    struct sock_event e = {};
    struct owner_t *o = 0;
    if (oldstate == TCP_SYN_SENT_ && (newstate == TCP_ESTABLISHED_ || newstate == TCP_CLOSE_)) {
        o = connecting.lookup(&sk);
        if (!o)
            return 0;
        e.kind = KIND_CONNECT;
    } else if (oldstate == TCP_SYN_RECV_ && newstate == TCP_ESTABLISHED_) {
        struct listen_key k = {};
        k.family = args->family;
        k.port = args->sport;
        o = listeners.lookup(&k);
        if (!o)
            return 0;
        e.kind = KIND_ACCEPT;
    } else if (newstate == TCP_CLOSE_) {
        if (!reported.lookup(&sk))
            return 0;
        reported.delete(&sk);
        e.kind = KIND_CLOSE;
    } else {
        return 0;
    }

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
    if (o) {
        e.pid = o->pid;
        e.cgroup = o->cgroup;
        __builtin_memcpy(e.comm, o->comm, 16);
        e.ts_ns = e.kind == KIND_CONNECT ? o->ts_ns : bpf_ktime_get_ns();
    } else {
        e.ts_ns = bpf_ktime_get_ns();
    }
    emit(&e);

    if (e.kind == KIND_CONNECT) {
        connecting.delete(&sk);
        if (newstate == TCP_CLOSE_) {
            /* never established: the same event ends it */
            e.kind = KIND_CLOSE;
            e.ts_ns = bpf_ktime_get_ns();
            emit(&e);
            return 0;
        }
    }
    if (e.kind != KIND_CLOSE) {
        u8 one = 1;
        reported.update(&sk, &one);
    }
    return 0;
}
