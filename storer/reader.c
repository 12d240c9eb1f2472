/* storer/reader.c — what the read backends share (storer/reader.h): the table for a driver and the stored
 * time forms. */
#include "storer/reader.h"

#include <stdio.h>
#include <time.h>

const struct store_read_backend *store_read_backend_for(enum cw_db_driver driver)
{
    switch (driver) {
    case CW_DB_SQLITE:
        return &store_read_sqlite;
    case CW_DB_POSTGRES:
        return &store_read_postgres;
    case CW_DB_MYSQL:
        return &store_read_mysql;
    }
    return NULL;
}

void store_read_format_ms(int64_t ms, bool mysql_form, char *out, size_t outlen)
{
    time_t t = (time_t)(ms >= 0 ? ms / 1000 : (ms - 999) / 1000);
    int frac = (int)(ms - (int64_t)t * 1000);
    struct tm tm;
    if (!gmtime_r(&t, &tm)) tm = (struct tm){ .tm_year = 70, .tm_mday = 1 };
    snprintf(out, outlen, mysql_form ? "%04d-%02d-%02d %02d:%02d:%02d.%03d" : "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
}
