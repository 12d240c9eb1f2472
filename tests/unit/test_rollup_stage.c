/* tests/unit/test_rollup_stage.c — the roll-ups' fold from memory (storer/rollup.h, "Without reading back")
 * against a fake backend whose "server" is a few arrays with transactions (a snapshot restored at a rollback):
 * rows staged by committed batches are folded without reading back, and every case that could make the memory
 * wrong (a rolled-back batch, a rollback after a fold, a replayed row, a row the storer did not write) leaves the
 * roll-ups exactly equal to the raw rows at or below the watermark, never counted twice, never lost. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/base/log.h"
#include "common/wire/lathist.h"
#include "storer/backend.h"
#include "storer/rollup.h"

#define MAX_RAW 4096
#define MAX_CELLS 64

struct cell {
    int p;
    int64_t ep, start, checks, ok;
    unsigned char blob[ROLLUP_HISTS][LAT_BLOB_MAX];
    size_t len[ROLLUP_HISTS];
};

struct server { /* what a transaction sees; a rollback restores the copy taken at begin */
    struct rollup_row raw[MAX_RAW];
    uint64_t seq[MAX_RAW]; /* the results' seq: a replayed one is not inserted again (UNIQUE) */
    size_t n_raw;
    int64_t next_id, mark;
    struct cell cells[MAX_CELLS];
    size_t n_cells;
};

struct fake {
    struct server db, saved;
    bool in_txn;
    int reads; /* read_rows calls: a fold that read back */
    struct rollup engine;
};

static int f_read_rows(void *ctx, int64_t after, size_t max, struct rollup_row *rows, size_t *n, char *err,
                       size_t errlen)
{
    struct fake *f = ctx;
    f->reads++;
    *n = 0;
    for (size_t i = 0; i < f->db.n_raw && *n < max; i++)
        if (f->db.raw[i].id > after) rows[(*n)++] = f->db.raw[i];
    return STORE_OK;
}

static struct cell *f_cell(struct fake *f, int p, int64_t ep, int64_t start, bool create)
{
    for (size_t i = 0; i < f->db.n_cells; i++)
        if (f->db.cells[i].p == p && f->db.cells[i].ep == ep && f->db.cells[i].start == start) return &f->db.cells[i];
    if (!create) return NULL;
    assert_true(f->db.n_cells < MAX_CELLS);
    struct cell *c = &f->db.cells[f->db.n_cells++];
    memset(c, 0, sizeof *c);
    c->p = p;
    c->ep = ep;
    c->start = start;
    return c;
}

static int f_get_many(void *ctx, enum rollup_period p, struct rollup_cell *cells, size_t n, char *err, size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        struct cell *c = f_cell(ctx, p, cells[i].endpoint_id, cells[i].start_s, false);
        if (!c) continue;
        cells[i].found = true;
        cells[i].st.checks = c->checks;
        cells[i].st.ok = c->ok;
        for (int k = 0; k < ROLLUP_HISTS; k++) {
            cells[i].st.blob[k] = c->blob[k];
            cells[i].st.len[k] = c->len[k];
        }
    }
    return STORE_OK;
}

static int f_put_many(void *ctx, enum rollup_period p, const struct rollup_cell *cells, size_t n, char *err,
                      size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        struct cell *c = f_cell(ctx, p, cells[i].endpoint_id, cells[i].start_s, true);
        c->checks = cells[i].st.checks;
        c->ok = cells[i].st.ok;
        for (int k = 0; k < ROLLUP_HISTS; k++) {
            assert_true(cells[i].st.len[k] <= LAT_BLOB_MAX);
            memcpy(c->blob[k], cells[i].st.blob[k], cells[i].st.len[k]);
            c->len[k] = cells[i].st.len[k];
        }
    }
    return STORE_OK;
}

static int f_count_above(void *ctx, int64_t after, int64_t *count, int64_t *top, char *err, size_t errlen)
{
    struct fake *f = ctx;
    *count = 0;
    *top = after;
    for (size_t i = 0; i < f->db.n_raw; i++)
        if (f->db.raw[i].id > after) {
            ++*count;
            if (f->db.raw[i].id > *top) *top = f->db.raw[i].id;
        }
    return STORE_OK;
}

static int f_get_watermark(void *ctx, int64_t *id, char *err, size_t errlen)
{
    *id = ((struct fake *)ctx)->db.mark;
    return STORE_OK;
}

static int f_max_id(void *ctx, int64_t *id, char *err, size_t errlen)
{
    struct fake *f = ctx;
    *id = f->db.next_id - 1;
    return STORE_OK;
}

static int f_set_watermark(void *ctx, int64_t id, char *err, size_t errlen)
{
    ((struct fake *)ctx)->db.mark = id;
    return STORE_OK;
}

static int f_exec(void *ctx, const char *sql, char *err, size_t errlen) { return STORE_FATAL; }

static int f_begin(void *ctx, char *err, size_t errlen)
{
    struct fake *f = ctx;
    assert_false(f->in_txn);
    f->saved = f->db;
    f->in_txn = true;
    return STORE_OK;
}

static int f_commit(void *ctx, char *err, size_t errlen)
{
    ((struct fake *)ctx)->in_txn = false;
    return STORE_OK;
}

static void f_rollback(void *ctx)
{
    struct fake *f = ctx;
    if (f->in_txn) f->db = f->saved;
    f->in_txn = false;
}

static bool f_idle(void *ctx) { return !((struct fake *)ctx)->in_txn; }
static void f_destroy(void *ctx) { rollup_free(&((struct fake *)ctx)->engine); }

static const struct rollup_ops f_ops = {
    .read_rows = f_read_rows,
    .get_many = f_get_many,
    .put_many = f_put_many,
    .count_above = f_count_above,
    .get_watermark = f_get_watermark,
    .max_id = f_max_id,
    .set_watermark = f_set_watermark,
    .exec = f_exec,
    .begin = f_begin,
    .commit = f_commit,
    .rollback = f_rollback,
    .idle = f_idle,
    .destroy = f_destroy,
};

static struct fake *fake_open(void)
{
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "1", 1);
    unsetenv("CLOCKWERK_ROLLUPS");
    struct fake *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->db.next_id = 1;
    rollup_init(&f->engine, &f_ops, f, "fake");
    rollup_enable_staging(&f->engine);
    char err[256];
    assert_int_equal(rollup_catch_up(&f->engine, err, sizeof err), STORE_OK);
    return f;
}

/* A batch of n results of endpoints 1..3 (id = 1 + i % 3), some failed, one without phases, in one hour. */
static void make_batch(struct store_batch *b, struct store_check *checks, int64_t *ids, size_t n, uint64_t seq0)
{
    memset(b, 0, sizeof *b);
    memset(checks, 0, n * sizeof *checks);
    for (size_t i = 0; i < n; i++) {
        struct cw_result *r = &checks[i].r;
        r->seq = seq0 + i;
        r->checked_at_us = 1795579200000000LL + (int64_t)(seq0 + i) * 1000000; /* 2026-11-25T04:00Z + seq s */
        r->ok = (seq0 + i) % 4 != 0;
        r->latency_us = 1000 + (int64_t)(seq0 + i) * 37;
        r->dns_us = r->connect_us = r->ttfb_us = (seq0 + i) % 5 ? 100 : -1;
        r->tls_us = -1;
        ids[i] = 1 + (int64_t)(i % 3);
    }
    b->checks = checks;
    b->n_checks = b->cap_checks = n;
}

/* The backend's write_batch: inserts the rows whose seq is new (a replay is skipped, as UNIQUE does), stages,
 * folds when due, commits or (rollback) rolls back. */
static void write_fake(struct fake *f, const struct store_batch *b, const int64_t *ids, bool rollback)
{
    char err[256];
    assert_int_equal(f_begin(f, err, sizeof err), STORE_OK);
    int64_t inserted = 0;
    for (size_t i = 0; i < b->n_checks; i++) {
        const struct cw_result *r = &b->checks[i].r;
        bool seen = false;
        for (size_t k = 0; k < f->db.n_raw; k++) seen = seen || f->db.seq[k] == r->seq;
        if (seen) continue;
        struct rollup_row *row = &f->db.raw[f->db.n_raw];
        f->db.seq[f->db.n_raw++] = r->seq;
        row->id = f->db.next_id++;
        row->endpoint_id = ids[i];
        row->at_s = r->checked_at_us / 1000000;
        row->ok = r->ok;
        int64_t us[ROLLUP_HISTS] = { r->latency_us, r->dns_us, r->connect_us, r->tls_us, r->ttfb_us };
        memcpy(row->us, us, sizeof us);
        inserted++;
    }
    rollup_stage(&f->engine, b, 0, b->n_checks, inserted, ids);
    usleep(2000); /* the fold period (1 ms) passes */
    assert_int_equal(rollup_fold_if_due(&f->engine, err, sizeof err), STORE_OK);
    if (rollback) f_rollback(f);
    else assert_int_equal(f_commit(f, err, sizeof err), STORE_OK);
    rollup_txn_end(&f->engine, !rollback);
}

/* The roll-ups equal the raw rows at or below the watermark, per period and endpoint (checks, ok, the values
 * of every histogram), and the watermark is the highest raw id. */
static void assert_exact(struct fake *f)
{
    assert_int_equal(f->db.mark, f->db.next_id - 1);
    for (int p = ROLLUP_HOUR; p <= ROLLUP_DAY; p++)
        for (int64_t ep = 1; ep <= 3; ep++) {
            int64_t want[2 + ROLLUP_HISTS] = { 0 }, got[2 + ROLLUP_HISTS] = { 0 };
            for (size_t i = 0; i < f->db.n_raw; i++) {
                const struct rollup_row *row = &f->db.raw[i];
                if (row->endpoint_id != ep || row->id > f->db.mark) continue;
                want[0]++;
                want[1] += row->ok;
                for (int k = 0; k < ROLLUP_HISTS; k++) want[2 + k] += row->us[k] >= 0;
            }
            for (size_t i = 0; i < f->db.n_cells; i++) {
                const struct cell *c = &f->db.cells[i];
                if (c->p != p || c->ep != ep) continue;
                got[0] += c->checks;
                got[1] += c->ok;
                for (int k = 0; k < ROLLUP_HISTS; k++) {
                    struct lat_hist h;
                    assert_true(lat_hist_decode(&h, c->blob[k], c->len[k], NULL));
                    got[2 + k] += (int64_t)h.total;
                }
            }
            assert_memory_equal(want, got, sizeof want);
        }
}

struct batch_buf {
    struct store_batch b;
    struct store_check checks[40];
    int64_t ids[40];
};

/* The end of every test: exact, then closed (which folds nothing more) and freed. */
static void finish(struct fake *f)
{
    assert_exact(f);
    rollup_close(&f->engine);
    free(f);
}

/* Writes the 40 results seq0 .. seq0+39 (some of them stored before when seq0 overlaps). */
static void write_40(struct fake *f, struct batch_buf *bb, uint64_t seq0, bool rollback)
{
    make_batch(&bb->b, bb->checks, bb->ids, 40, seq0);
    write_fake(f, &bb->b, bb->ids, rollback);
}

static void test_committed_batches_fold_from_memory(void **state)
{
    struct fake *f = fake_open();
    struct batch_buf bb;
    for (uint64_t k = 0; k < 5; k++) {
        write_40(f, &bb, 1 + 40 * k, false);
    }
    assert_int_equal(f->reads, 0); /* every fold came from memory (nothing to catch up at open) */
    finish(f);
}

static void test_rolled_back_batch_is_not_counted(void **state)
{
    struct fake *f = fake_open();
    struct batch_buf bb;
    write_40(f, &bb, 1, false);
    write_40(f, &bb, 41, true); /* staged and folded, then rolled back: gone from the server and memory */
    assert_exact(f);
    write_fake(f, &bb.b, bb.ids, false); /* the same batch again, committed this time */
    write_40(f, &bb, 81, false);
    assert_exact(f);
    /* a rollback with no fold in it: the staged rows go, the pending ones stay, and the next fold is still
     * from memory (kept rows of the rolled-back batch would make the count differ and the fold read back) */
    int reads = f->reads;
    f->engine.next_ns = INT64_MAX;
    write_40(f, &bb, 121, false); /* pending */
    write_40(f, &bb, 161, true);  /* rolled back */
    f->engine.next_ns = 0;
    write_40(f, &bb, 201, false); /* folds 80 rows from memory */
    assert_int_equal(f->reads, reads);
    finish(f);
}

static void test_replayed_rows_read_back(void **state)
{
    struct fake *f = fake_open();
    struct batch_buf bb;
    write_40(f, &bb, 1, false);
    int reads = f->reads;
    write_40(f, &bb, 21, false);           /* half of it stored before: 20 inserted of 40 */
    assert_int_equal(f->reads, reads + 1); /* this fold read back */
    assert_exact(f);
    write_40(f, &bb, 61, false); /* and the memory is used again after it */
    assert_int_equal(f->reads, reads + 1);
    finish(f);
}

static void test_row_not_written_by_the_storer(void **state)
{
    struct fake *f = fake_open();
    struct batch_buf bb;
    write_40(f, &bb, 1, false);
    struct rollup_row *row = &f->db.raw[f->db.n_raw]; /* inserted by hand, between two batches */
    f->db.seq[f->db.n_raw++] = 999999;
    memset(row, 0, sizeof *row);
    row->id = f->db.next_id++;
    row->endpoint_id = 2;
    row->at_s = 1795579300;
    for (int k = 0; k < ROLLUP_HISTS; k++) row->us[k] = -1;
    int reads = f->reads;
    write_40(f, &bb, 41, false); /* the count above the watermark is one more than memory holds */
    assert_int_equal(f->reads, reads + 1);
    finish(f);
}

static void test_pending_rows_folded_at_close(void **state)
{
    struct fake *f = fake_open();
    struct batch_buf bb;
    write_40(f, &bb, 1, false);
    setenv("CLOCKWERK_ROLLUP_EVERY_MS", "3600000", 1);
    f->engine.every_ns = 3600000000000LL;
    f->engine.next_ns = INT64_MAX; /* no fold due: the next batch stays in memory */
    write_40(f, &bb, 41, false);
    assert_true(f->db.mark < f->db.next_id - 1);
    int reads = f->reads;
    char err[256];
    assert_int_equal(rollup_catch_up(&f->engine, err, sizeof err), STORE_OK); /* what rollup_close does */
    assert_int_equal(f->reads, reads);                                        /* from memory */
    finish(f);
}

int main(void)
{
    log_init("test", LOG_LVL_WARN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_committed_batches_fold_from_memory),
        cmocka_unit_test(test_rolled_back_batch_is_not_counted),
        cmocka_unit_test(test_replayed_rows_read_back),
        cmocka_unit_test(test_row_not_written_by_the_storer),
        cmocka_unit_test(test_pending_rows_folded_at_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
