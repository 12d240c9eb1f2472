/* report/maint.h — maintenance in `clockwerk report` (docs/report.md "Maintenance"): the time each endpoint spent
 * in the configuration's maintenance windows over the window, and its checks stored in maintenance (schema 5),
 * which its uptime leaves out. */
#ifndef CW_REPORT_MAINT_H
#define CW_REPORT_MAINT_H

#include <stdint.h>

#include "common/config/config.h"
#include "report/report.h"
#include "storer/reader.h"

/* Milliseconds of [since_ms, until_ms) during which a window of cfg covered ep. Pure but for the zone data. */
int64_t report_maintenance_ms(const struct cw_config *cfg, const struct cw_endpoint *ep, int64_t since_ms,
                              int64_t until_ms);
/* Reads each endpoint's checks in maintenance over the checks' window (the hour holding a past until apart, as
 * the tallies have it) and sets maint_checks/maint_ok and maint_ms. STORE_OK or the reader's error. */
int report_read_maintenance(struct report *rep, const struct store_read_backend *b, struct store_reader *r, char *err,
                            size_t errlen);
/* Checks and ok checks that count for the uptime: the tally's without those in maintenance. */
void report_uptime_counts(const struct report_ep *e, int64_t *checks, int64_t *ok);

#endif
