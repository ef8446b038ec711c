/* Block I/O latency: every completion goes into an in-kernel log2 histogram (usecs); requests
 * slower than SLOW_NS are also sent as events. Requests are matched issue -> complete by
 * {dev, sector}, a key with no padding (padded keys lost most matches in testing).
 * The task is taken as biosnoop takes it: at block_io_start (kernel 6.5+, HAVE_IO_START), which
 * runs in the submitting task, else at block_rq_issue (often the submitter, sometimes a kworker).
 */

struct rq_key {
    u64 dev;
    u64 sector;
};

struct who_t {
    u32 pid;
    char comm[16];
};

struct issued_t {
    u64 ts;
    u32 bytes;
    u32 pid;
    char rwbs[8];
    char comm[16];
};

struct bio_event {
    u64 latency_ns;
    u64 sector;
    u32 dev;
    u32 bytes;
    u32 pid;
    char rwbs[8];
    char comm[16];
};

BPF_HASH(issued, struct rq_key, struct issued_t, 16384);
BPF_HASH(who, struct rq_key, struct who_t, 16384);
BPF_ARRAY(lat_hist, u64, 64);
BPF_RINGBUF_OUTPUT(bio_events, RING_PAGES);
BPF_ARRAY(drops, u64, 1);

#ifdef HAVE_IO_START
TRACEPOINT_PROBE(block, block_io_start)
{
    struct rq_key k = {};
    k.dev = args->dev;
    k.sector = args->sector;
    struct who_t w = {};
    w.pid = bpf_get_current_pid_tgid() >> 32;
    bpf_get_current_comm(&w.comm, sizeof(w.comm));
    who.update(&k, &w);
    return 0;
}
#endif

TRACEPOINT_PROBE(block, block_rq_issue)
{
    struct rq_key k = {};
    k.dev = args->dev;
    k.sector = args->sector;
    struct issued_t v = {};
    v.ts = bpf_ktime_get_ns();
    v.bytes = args->bytes;
    bpf_probe_read_kernel(&v.rwbs, sizeof(v.rwbs), args->rwbs);
    struct who_t *w = who.lookup(&k);
    if (w) {
        v.pid = w->pid;
        __builtin_memcpy(v.comm, w->comm, 16);
        who.delete(&k);
    } else {
        v.pid = bpf_get_current_pid_tgid() >> 32;
        bpf_get_current_comm(&v.comm, sizeof(v.comm));
    }
    issued.update(&k, &v);
    return 0;
}

TRACEPOINT_PROBE(block, block_rq_complete)
{
    struct rq_key k = {};
    k.dev = args->dev;
    k.sector = args->sector;
    struct issued_t *v = issued.lookup(&k);
    if (!v)
        return 0;
    u64 delta = bpf_ktime_get_ns() - v->ts;
    int slot = bpf_log2l(delta / 1000);
    if (slot > 63)
        slot = 63;
    u64 *bucket = lat_hist.lookup(&slot);
    if (bucket)
        __sync_fetch_and_add(bucket, 1);
    if (delta >= SLOW_NS) {
        struct bio_event e = {};
        e.latency_ns = delta;
        e.sector = k.sector;
        e.dev = k.dev;
        e.bytes = v->bytes;
        e.pid = v->pid;
        __builtin_memcpy(e.rwbs, v->rwbs, 8);
        __builtin_memcpy(e.comm, v->comm, 16);
        if (bio_events.ringbuf_output(&e, sizeof(e), BPF_RB_NO_WAKEUP) != 0) {
            int zero = 0;
            u64 *d = drops.lookup(&zero);
            if (d)
                __sync_fetch_and_add(d, 1);
        }
    }
    issued.delete(&k);
    return 0;
}
