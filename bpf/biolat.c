/* Block I/O latency by device and operation: issue -> complete in a log2 histogram of microseconds,
 * counted in the kernel per (dev, op, slot). op is the first of D (discard), F (flush), W (write),
 * R (read) found in rwbs, else N. Requests are matched by {dev, sector} (no padding in the key).
 */

struct rq_key {
    u64 dev;
    u64 sector;
};

struct issued_t {
    u64 ts;
    u32 op;
    u32 pad;
};

struct hist_key {
    u32 dev;
    u32 op;
    u32 slot;
    u32 pad;
};

BPF_HASH(issued, struct rq_key, struct issued_t, 16384);
BPF_HASH(hist, struct hist_key, u64, 4096);
BPF_ARRAY(lost, u64, 1);

TRACEPOINT_PROBE(block, block_rq_issue)
{
    struct rq_key k = {};
    k.dev = args->dev;
    k.sector = args->sector;
    struct issued_t v = {};
    v.ts = bpf_ktime_get_ns();
    char rwbs[8] = {};
    bpf_probe_read_kernel(&rwbs, sizeof(rwbs), args->rwbs);
    u32 op = 'N';
#pragma unroll
    for (int i = 0; i < 8; i++) {
        char c = rwbs[i];
        if (c == 'D' || c == 'F' || c == 'W' || c == 'R') {
            op = c;
            break;
        }
    }
    v.op = op;
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
    struct hist_key h;
    __builtin_memset(&h, 0, sizeof(h));
    h.dev = k.dev;
    h.op = v->op;
    h.slot = bpf_log2l((bpf_ktime_get_ns() - v->ts) / 1000);
    issued.delete(&k);
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
