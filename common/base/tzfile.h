/* common/base/tzfile.h — time zones without the process-global TZ: a reader of the system's compiled zone files
 * (TZif, RFC 8536, /usr/share/zoneinfo/NAME) giving a zone's UTC offset at an instant and the instant of a local
 * time. A zone is loaded once and cached by name for the life of the process; a loaded zone is immutable, so any
 * number of threads may read it at once (tz_get serialises only the loading and the cache lookup). */
#ifndef CW_TZFILE_H
#define CW_TZFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define TZ_ZONEINFO_DIR "/usr/share/zoneinfo/"
#define TZ_NAME_MAX 64 /* the longest zone name accepted (IANA names are far shorter) */

struct tz_zone;

/* Which instant a local time that happens twice (clocks set back) stands for. */
enum tz_pick { TZ_FIRST, TZ_LAST };

/* True when name can be a zone name: 1 … TZ_NAME_MAX of A-Z a-z 0-9 _ + - /, not starting with '/', no "..",
 * no empty path component (so it always names a file under TZ_ZONEINFO_DIR). */
bool tz_name_valid(const char *name);

/* The zone named name (NULL, "" and "UTC": UTC, no file needed), loaded from TZ_ZONEINFO_DIR on first use and
 * cached (a failure too: the same error again without another read). NULL when the name is not valid, the file
 * is missing or is not a TZif file this reader understands; then err (when not NULL) says why in one line. */
const struct tz_zone *tz_get(const char *name, char *err, size_t err_len);

/* The zone in the TZif file at path (not cached; tz_free it). NULL with err as for tz_get. */
struct tz_zone *tz_load_file(const char *path, char *err, size_t err_len);

/* The zone in the TZif data buf[0..len) (a file's content; not cached; tz_free it). NULL with err. */
struct tz_zone *tz_parse(const unsigned char *buf, size_t len, char *err, size_t err_len);

void tz_free(struct tz_zone *z);

/* The zone's offset from UTC (seconds east: +3600 for CET) at the instant utc_s (seconds since the epoch). */
int tz_offset_at_utc(const struct tz_zone *z, int64_t utc_s);

/* The zone's abbreviation at utc_s ("CET", "+0530"; "UTC" for UTC): a string that lives as long as z. */
const char *tz_abbr_at_utc(const struct tz_zone *z, int64_t utc_s);

/* The instant (seconds since the epoch) whose local time in z is local_s (the local date and time counted as
 * seconds since 1970-01-01 00:00 as if that were UTC). A local time that happens twice (clocks set back): the
 * first or the last of its instants, as pick says. One that never happens (skipped when clocks are put forward):
 * the instant the clocks jumped over it. */
int64_t tz_local_to_utc(const struct tz_zone *z, int64_t local_s, enum tz_pick pick);

#endif
