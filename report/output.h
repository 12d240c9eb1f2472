/* report/output.h — printing `clockwerk report` (docs/report.md): an aligned table for a terminal, CSV (RFC 4180)
 * or one JSON object. URLs are printed with their credentials masked (cw_mask_url). */
#ifndef CW_REPORT_OUTPUT_H
#define CW_REPORT_OUTPUT_H

#include <stdio.h>

#include "report/report.h"

enum report_format { REPORT_TEXT, REPORT_CSV, REPORT_JSON };

/* Prints reps[0..n): one report (across locations, or of one location: --location), or one per location
 * (--by-location: the rows of an endpoint are its row of each report that shows it, report_ep_shown). A report of
 * one location adds its name to every row (the text's LOCATION column, CSV's location; JSON's location is null
 * across locations). 0, or -1 when writing failed (errno set). */
int report_print(FILE *out, const struct report *const *reps, size_t n, enum report_format format);

/* A duration as "3d 04h 05m", "1h 02m 03s", "4m 10s", "12.0s", "0s" (under a minute: always one decimal). */
void report_format_duration(int64_t ms, char *out, size_t outlen);
/* 100 × ok / checks with `decimals` digits, truncated (never 100 while a check failed). */
void report_format_pct(int64_t ok, int64_t checks, int decimals, char *out, size_t outlen);
/* A time in ms for the table: 38.5, 4.25, 0.028 (three significant digits below 10 ms). */
void report_format_ms(double ms, char *out, size_t outlen);
/* The display width of UTF-8 text in terminal columns: one per code point, two for an East Asian wide one. */
size_t report_display_width(const char *s);
/* field as one CSV field (RFC 4180: quoted when it holds a comma, a quote, CR or LF; quotes doubled). */
void report_csv_field(FILE *out, const char *field);

#endif
