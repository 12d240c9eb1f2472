/* tests/unit/test_spoolfile.c — the one spool format and its recovery scan (common/wire/spoolfile.c): the exact
 * bytes of a record (the format files left by earlier versions use), records read back with their meta, a
 * torn tail cut off at open with later appends reachable, a zero-length file and a garbage header removed,
 * refused payload sizes, and the rewrite (commit, empty commit, abort). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/base/le.h"
#include "common/wire/spoolfile.h"

struct fixture {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof *f);
    if (!f) return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/cwspool.XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
    snprintf(f->path, sizeof f->path, "%s/test.spool", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char tmp[160];
    snprintf(tmp, sizeof tmp, "%s.tmp", f->path);
    unlink(f->path);
    unlink(tmp);
    rmdir(f->dir);
    free(f);
    return 0;
}

static long file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (long)st.st_size : -1;
}

static void write_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

static void append_file(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "ab");
    assert_non_null(fp);
    assert_int_equal(fwrite(data, 1, len, fp), len);
    assert_int_equal(fclose(fp), 0);
}

/* Opens path as a spool of meta_len bytes of meta (payloads up to 64 bytes); returns its whole records. */
static uint64_t open_spool(struct spoolfile *sf, const char *path, size_t meta_len)
{
    char err[256] = "";
    uint64_t records = 99;
    spoolfile_init(sf, path, meta_len, 64);
    assert_int_equal(spoolfile_open(sf, &records, err, sizeof err), 0);
    return records;
}

static void append_numbered(struct spoolfile *sf, unsigned k)
{
    uint8_t meta[SPOOLFILE_META_MAX] = { 0 };
    char payload[32];
    le_put_u32(meta, k);
    int n = snprintf(payload, sizeof payload, "payload %u", k);
    assert_int_equal(spoolfile_append(sf, meta, payload, (size_t)n), 0);
}

/* Reads every record from the start: checks they are records first..first+count-1 in order. */
static void expect_numbered(const struct spoolfile *sf, unsigned first, unsigned count)
{
    struct cw_buf payload = { 0 };
    uint64_t off = 0;
    for (unsigned k = first; k < first + count; k++) {
        struct spoolfile_record rec;
        char want[32];
        int n = snprintf(want, sizeof want, "payload %u", k);
        assert_int_equal(spoolfile_read(sf, off, &rec, &payload), 0);
        assert_int_equal(rec.len, n);
        assert_memory_equal(payload.data, want, (size_t)n);
        if (sf->meta_len) assert_int_equal(le_get_u32(rec.meta), k);
        off = rec.next;
    }
    assert_true(off == sf->end);
    cw_buf_free(&payload);
}

static void test_record_bytes_and_read_back(void **state)
{
    struct fixture *f = *state;
    struct spoolfile sf;
    assert_int_equal(open_spool(&sf, f->path, 0), 0);
    assert_int_equal(sf.fd, -1);
    assert_int_equal(file_size(f->path), -1); /* not created until something is appended */
    assert_int_equal(spoolfile_append(&sf, NULL, "abc", 3), 0);
    assert_int_equal(spoolfile_sync(&sf), 0);
    spoolfile_free(&sf);
    /* the storer's format: u32 length, payload */
    FILE *fp = fopen(f->path, "rb");
    assert_non_null(fp);
    uint8_t bytes[16];
    assert_int_equal(fread(bytes, 1, sizeof bytes, fp), 7);
    fclose(fp);
    assert_memory_equal(bytes,
                        "\x03\x00\x00\x00"
                        "abc",
                        7);
    unlink(f->path);

    /* with meta (the outbox's): u32 length, meta, payload */
    assert_int_equal(open_spool(&sf, f->path, 8), 0);
    uint8_t meta[SPOOLFILE_META_MAX] = "METAMETA";
    assert_int_equal(spoolfile_append(&sf, meta, "xy", 2), 0);
    assert_int_equal(sf.end, 4 + 8 + 2);
    for (unsigned k = 2; k <= 4; k++) append_numbered(&sf, k);
    spoolfile_free(&sf);
    fp = fopen(f->path, "rb");
    assert_non_null(fp);
    assert_int_equal(fread(bytes, 1, 14, fp), 14);
    fclose(fp);
    assert_memory_equal(bytes,
                        "\x02\x00\x00\x00"
                        "METAMETA"
                        "xy",
                        14);

    assert_int_equal(open_spool(&sf, f->path, 8), 4);
    assert_int_equal(sf.end, file_size(f->path));
    struct spoolfile_record rec;
    assert_int_equal(spoolfile_read(&sf, 0, &rec, NULL), 0);
    assert_memory_equal(rec.meta, "METAMETA", 8);
    uint64_t off = rec.next;
    for (unsigned k = 2; k <= 4; k++) {
        assert_int_equal(spoolfile_read(&sf, off, &rec, NULL), 0);
        assert_int_equal(le_get_u32(rec.meta), k);
        off = rec.next;
    }
    assert_true(off == sf.end);
    errno = 0;
    assert_int_equal(spoolfile_read(&sf, sf.end, &rec, NULL), -1); /* nothing at the end */
    assert_int_equal(errno, EBADMSG);
    spoolfile_remove(&sf);
    assert_int_equal(file_size(f->path), -1);
    spoolfile_free(&sf);
}

static void test_torn_tail(void **state)
{
    struct fixture *f = *state;
    struct spoolfile sf;
    assert_int_equal(open_spool(&sf, f->path, 32), 0);
    for (unsigned k = 1; k <= 3; k++) append_numbered(&sf, k);
    uint64_t whole = sf.end;
    spoolfile_free(&sf);
    append_file(f->path, "\x40\x00\x00\x00\x01\x01", 6); /* a 64-byte record with 2 bytes written */

    assert_int_equal(open_spool(&sf, f->path, 32), 3);
    assert_true(sf.end == whole);
    assert_int_equal(file_size(f->path), (long)whole); /* cut off */
    append_numbered(&sf, 4);                           /* and what follows is reachable */
    spoolfile_free(&sf);
    assert_int_equal(open_spool(&sf, f->path, 32), 4);
    expect_numbered(&sf, 1, 4);
    spoolfile_free(&sf);

    /* a frame cut inside the length itself */
    append_file(f->path, "\x05\x00", 2);
    assert_int_equal(open_spool(&sf, f->path, 32), 4);
    expect_numbered(&sf, 1, 4);
    spoolfile_free(&sf);
}

static void test_zero_length_and_garbage(void **state)
{
    struct fixture *f = *state;
    struct spoolfile sf;
    write_file(f->path, "", 0);
    assert_int_equal(open_spool(&sf, f->path, 0), 0);
    assert_int_equal(sf.fd, -1);
    assert_int_equal(file_size(f->path), -1); /* an empty leftover is removed */
    spoolfile_free(&sf);

    /* garbage headers: a zero length, a length beyond the maximum, a length beyond the file */
    const char *garbage[] = { "\x00\x00\x00\x00"
                              "abcdefgh",
                              "\xff\xff\xff\xff"
                              "abcdefgh",
                              "\x41\x00\x00\x00"
                              "abc" };
    for (size_t i = 0; i < 3; i++) {
        write_file(f->path, garbage[i], 12 - (i == 2 ? 5 : 0));
        assert_int_equal(open_spool(&sf, f->path, 0), 0);
        assert_int_equal(sf.fd, -1);
        assert_int_equal(file_size(f->path), -1);
        spoolfile_free(&sf);
    }

    /* garbage after whole records: the records stay, the garbage goes */
    assert_int_equal(open_spool(&sf, f->path, 0), 0);
    append_numbered(&sf, 1);
    append_numbered(&sf, 2);
    uint64_t whole = sf.end;
    spoolfile_free(&sf);
    append_file(f->path, "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00", 10);
    assert_int_equal(open_spool(&sf, f->path, 0), 2);
    assert_int_equal(file_size(f->path), (long)whole);
    expect_numbered(&sf, 1, 2);

    /* sizes an append refuses, leaving the file as it was */
    uint8_t big[65] = { 0 };
    errno = 0;
    assert_int_equal(spoolfile_append(&sf, NULL, big, 0), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(spoolfile_append(&sf, NULL, big, sizeof big), -1);
    assert_int_equal(spoolfile_append(&sf, NULL, big, 64), 0);
    assert_int_equal(file_size(f->path), (long)(whole + 4 + 64));
    spoolfile_free(&sf);
}

static void test_rewrite(void **state)
{
    struct fixture *f = *state;
    char tmp_path[160];
    snprintf(tmp_path, sizeof tmp_path, "%s.tmp", f->path);
    struct spoolfile sf, tmp;
    assert_int_equal(open_spool(&sf, f->path, 4), 0);
    for (unsigned k = 1; k <= 4; k++) append_numbered(&sf, k);
    struct spoolfile_record first;
    assert_int_equal(spoolfile_read(&sf, 0, &first, NULL), 0);

    /* abort: the old file is untouched, the temporary one gone */
    assert_int_equal(spoolfile_rewrite_begin(&sf, &tmp), 0);
    append_numbered(&tmp, 9);
    spoolfile_rewrite_abort(&tmp);
    assert_int_equal(file_size(tmp_path), -1);
    expect_numbered(&sf, 1, 4);

    /* commit: record 1 written anew, records 2..4 copied; sf now reads the new file */
    assert_int_equal(spoolfile_rewrite_begin(&sf, &tmp), 0);
    append_numbered(&tmp, 1);
    assert_int_equal(spoolfile_copy(&tmp, &sf, first.next, sf.end), 0);
    assert_int_equal(spoolfile_rewrite_commit(&sf, &tmp), 0);
    assert_int_equal(file_size(tmp_path), -1);
    assert_int_equal(file_size(f->path), (long)sf.end);
    expect_numbered(&sf, 1, 4);
    append_numbered(&sf, 5);
    spoolfile_free(&sf);
    assert_int_equal(open_spool(&sf, f->path, 4), 5);
    expect_numbered(&sf, 1, 5);

    /* an empty rewrite removes the file */
    assert_int_equal(spoolfile_rewrite_begin(&sf, &tmp), 0);
    assert_int_equal(spoolfile_rewrite_commit(&sf, &tmp), 0);
    assert_int_equal(sf.fd, -1);
    assert_int_equal(file_size(f->path), -1);
    spoolfile_free(&sf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_record_bytes_and_read_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_zero_length_and_garbage, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rewrite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
