/* report/output.h — printing `clockwerk report` (docs/report.md): an aligned table for a terminal, CSV (RFC 4180)
 * or one JSON object. URLs are printed with their credentials masked (cw_mask_url). */
#ifndef CW_REPORT_OUTPUT_H
#define CW_REPORT_OUTPUT_H

#include <stdio.h>

#include "report/report.h"

enum report_format { REPORT_TEXT, REPORT_CSV, REPORT_JSON };

/* 0, or -1 when writing failed (errno set). */
int report_print(FILE *out, const struct report *rep, enum report_format format);

/* A duration as "3d 04h 05m", "1h 02m 03s", "4m 10s", "12.3s", "0s". */
void report_format_duration(int64_t ms, char *out, size_t outlen);
/* field as one CSV field (RFC 4180: quoted when it holds a comma, a quote, CR or LF; quotes doubled). */
void report_csv_field(FILE *out, const char *field);

#endif
