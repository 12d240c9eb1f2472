/* tests/unit/test_le.c — the little-endian codec (common/base/le.h): byte order at a pointer and appended to a
 * buffer, round trips at the edges of each width, and the bounded reader (reads in order, a read past the
 * end fails with "truncated" and stays failed, the first reason wins, bytes read in place). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/base/le.h"

static void test_byte_order(void **state)
{
    (void)state;
    uint8_t p[8];
    le_put_u16(p, 0x0102);
    assert_memory_equal(p, "\x02\x01", 2);
    le_put_u32(p, 0x01020304u);
    assert_memory_equal(p, "\x04\x03\x02\x01", 4);
    le_put_u64(p, 0x0102030405060708ull);
    assert_memory_equal(p, "\x08\x07\x06\x05\x04\x03\x02\x01", 8);
    assert_int_equal(le_get_u16((const uint8_t *)"\x02\x01"), 0x0102);
    assert_int_equal(le_get_u32((const uint8_t *)"\x04\x03\x02\x01"), 0x01020304u);
    assert_true(le_get_u64((const uint8_t *)"\x08\x07\x06\x05\x04\x03\x02\x01") == 0x0102030405060708ull);
}

static void test_round_trip_edges(void **state)
{
    (void)state;
    const uint64_t values[] = { 0,
                                1,
                                0x7f,
                                0x80,
                                0xff,
                                0x100,
                                0xffff,
                                0x10000,
                                0x7fffffff,
                                0x80000000u,
                                0xffffffffu,
                                0x100000000ull,
                                0x8000000000000000ull,
                                UINT64_MAX };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        uint8_t p[8];
        le_put_u16(p, (uint16_t)values[i]);
        assert_int_equal(le_get_u16(p), (uint16_t)values[i]);
        le_put_u32(p, (uint32_t)values[i]);
        assert_int_equal(le_get_u32(p), (uint32_t)values[i]);
        le_put_u64(p, values[i]);
        assert_true(le_get_u64(p) == values[i]);
    }
}

static void test_buffer_and_reader(void **state)
{
    (void)state;
    struct cw_buf b = { 0 };
    le_buf_u8(&b, 0xab);
    le_buf_u16(&b, 0xbeef);
    le_buf_u32(&b, 0xdeadbeefu);
    le_buf_u64(&b, 0x1122334455667788ull);
    cw_buf_put(&b, "xyz", 3);
    assert_int_equal(b.len, 1 + 2 + 4 + 8 + 3);
    assert_memory_equal(b.data, "\xab\xef\xbe\xef\xbe\xad\xde\x88\x77\x66\x55\x44\x33\x22\x11xyz", b.len);

    struct le_reader r = le_reader_of(b.data, b.len);
    assert_int_equal(le_read_u8(&r), 0xab);
    assert_int_equal(le_read_u16(&r), 0xbeef);
    assert_int_equal(le_read_u32(&r), 0xdeadbeefu);
    assert_true(le_read_u64(&r) == 0x1122334455667788ull);
    const uint8_t *in_place = le_read_bytes(&r, 3);
    assert_ptr_equal(in_place, b.data + 15); /* not copied */
    assert_int_equal(r.left, 0);
    assert_null(r.why);

    /* past the end: 0, "truncated", and it sticks even for a read that would fit */
    r = le_reader_of(b.data, 3);
    assert_int_equal(le_read_u8(&r), 0xab);
    assert_int_equal(le_read_u32(&r), 0);
    assert_string_equal(r.why, "truncated");
    assert_int_equal(r.left, 2); /* nothing consumed by the failed read */
    assert_int_equal(le_read_u8(&r), 0);
    assert_null(le_read_bytes(&r, 0));
    assert_false(le_reader_fail(&r, "later reason"));
    assert_string_equal(r.why, "truncated"); /* the first reason wins */

    r = le_reader_of(b.data, b.len);
    le_reader_fail(&r, "bad version");
    assert_int_equal(le_read_u8(&r), 0);
    assert_string_equal(r.why, "bad version");

    r = le_reader_of(NULL, 12); /* no data: nothing to read */
    assert_int_equal(le_read_u8(&r), 0);
    assert_string_equal(r.why, "truncated");
    cw_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_byte_order),
        cmocka_unit_test(test_round_trip_edges),
        cmocka_unit_test(test_buffer_and_reader),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
