/* common/wire/seqgap.c — per-sender sequence tracking for receivers of results (see seqgap.h). */
#include "common/wire/seqgap.h"

#include <stdlib.h>
#include <string.h>

#include "common/base/hash.h"
#include "common/base/log.h"
#include "common/base/util.h"

struct seqgap_key {
    uint64_t boot_id;
    uint32_t worker;
    uint32_t zero; /* padding, kept 0: the key is hashed and compared as bytes */
};

struct seqgap_sender {
    struct seqgap_key key;
    uint64_t last;
    uint64_t last_seen;
    UT_hash_handle hh;
};

void seqgap_init(struct seqgap *g, size_t max_senders)
{
    memset(g, 0, sizeof *g);
    g->max_senders = max_senders;
}

void seqgap_free(struct seqgap *g)
{
    struct seqgap_sender *s, *tmp;
    HASH_ITER(hh, g->table, s, tmp)
    {
        HASH_DEL(g->table, s);
        free(s);
    }
    g->n = 0;
}

/* On a full table: drops the sender seen longest ago and returns its memory for reuse. */
static struct seqgap_sender *forget_oldest(struct seqgap *g)
{
    struct seqgap_sender *oldest = g->table, *s, *tmp;
    HASH_ITER(hh, g->table, s, tmp)
    {
        if (s->last_seen < oldest->last_seen) oldest = s;
    }
    HASH_DEL(g->table, oldest);
    g->n--;
    return oldest;
}

/* a + b, at most INT64_MAX: counters go into signed stats values */
static uint64_t saturating_add(uint64_t a, uint64_t b)
{
    return a >= (uint64_t)INT64_MAX || b >= (uint64_t)INT64_MAX - a ? (uint64_t)INT64_MAX : a + b;
}

struct seqgap_note seqgap_note(struct seqgap *g, uint32_t worker, uint64_t boot_id, uint64_t seq)
{
    struct seqgap_key key = { .boot_id = boot_id, .worker = worker, .zero = 0 };
    struct seqgap_sender *s;
    g->tick++;
    HASH_FIND(hh, g->table, &key, sizeof key, s);
    if (!s) {
        s = g->max_senders && g->n >= g->max_senders ? forget_oldest(g) : cw_xmalloc(sizeof *s);
        memset(s, 0, sizeof *s);
        s->key = key;
        s->last = seq;
        s->last_seen = g->tick;
        HASH_ADD(hh, g->table, key, sizeof s->key, s);
        g->n++;
        g->senders++;
        return (struct seqgap_note){ .kind = SEQGAP_FIRST };
    }
    s->last_seen = g->tick;
    struct seqgap_note note = { .kind = SEQGAP_NEXT, .after = s->last };
    if (seq <= s->last) {
        note.kind = SEQGAP_REPEAT;
        g->repeats = saturating_add(g->repeats, 1);
        return note;
    }
    if (seq - s->last - 1 > SEQGAP_JUMP_MAX) {
        note.kind = SEQGAP_JUMP;
        g->jumps = saturating_add(g->jumps, 1);
        return note;
    }
    if (seq > s->last + 1) {
        note.kind = SEQGAP_GAP;
        note.missing = seq - s->last - 1;
        g->gaps = saturating_add(g->gaps, 1);
        g->missing = saturating_add(g->missing, note.missing);
    }
    s->last = seq;
    return note;
}
