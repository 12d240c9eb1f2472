/* alerter/statejournal.h — the alerter's state as a base file and a journal: a save appends one line of what
 * changed; the base is written again now and then (compaction), a chunk at a time.
 *
 * DESIGN
 * At 500,000 endpoints all down the whole state file is ~350 MB of JSON: written at every save (at least once a
 * second while results wait for their acks) it took the alerter's loop for seconds at a time and wrote hundreds of
 * megabytes a second. Now (docs/alerts.md "The state file"):
 * - `alerter.state` is the base: the whole state as of some save, with "journal_from": S;
 * - `alerter.state.journal` holds one JSON line per save since (seq S, S+1, ...): the endpoints that changed
 *   (their whole record, voters and vote, or nothing: forgotten) and the small sections that changed, whole.
 * A save is a line appended and fdatasync'd (statejournal_append), then the acks, as before. Before each append
 * the journal's size is checked against what this process wrote: a torn line of a failed append is cut off, and a
 * journal shorter than that (removed, replaced), or a base that is not the file last written or read (removed,
 * replaced by hand), makes the caller write the whole base again (-2).
 * Compaction (statejournal_compact_*) writes a new base with journal_from = the next seq to a temporary file, in
 * chunks the caller gives right after its saves (so what each chunk holds is what the journal holds then; the
 * kernel is asked to write each chunk out at once, so that the last fsync has little left to do), and at the end
 * renames it over the base. The journal is then shortened to its lines from journal_from on, also a step at a
 * time (statejournal_shorten_step: its lines copied to a temporary file while new ones are still appended to the
 * journal, and once the copy has caught up, fsync'd and renamed over it): no step copies more than a few megabytes,
 * however much was appended while the base was written. A crash at any step leaves a base and a journal that
 * replay to the last save: lines older than the base's journal_from are skipped by the reader
 * (alerter/statefile.h), the temporary files are ignored.
 * Both files are mode 0600 (a job's URL and headers may hold a channel's secret). No clock, no policy: when to
 * save and when to compact is the caller's (alerter/persist.c). */
#ifndef CW_ALERTER_STATEJOURNAL_H
#define CW_ALERTER_STATEJOURNAL_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alerter/statefile.h"
#include "common/base/util.h"

#define STATEJOURNAL_LINE_VERSION 1

struct statejournal {
    char base[PATH_MAX], path[PATH_MAX], tmp[PATH_MAX]; /* the base, the journal, the compaction's file */
    char short_tmp[PATH_MAX + 8];                         /* the shortened journal being copied */
    int64_t next_seq;   /* seq of the next line */
    int64_t bytes;      /* the journal's length as this process wrote it (whole lines only); INT64_MAX after the
                         * journal could not be emptied: the next append finds it shorter and asks for the base */
    int64_t base_bytes; /* the base's length when last written or read */
    uint64_t base_dev, base_ino; /* the base as last written or read (another file there: the base again) */
    struct {            /* the compaction under way (fd >= 0) */
        int fd;
        int64_t from;       /* the new base's journal_from */
        int64_t journal_at; /* the journal's length when it began: its lines from there on are seq >= from */
        int64_t written;    /* bytes of the new base so far */
        enum statefile_list list;
        bool first; /* no element in the current list yet */
        struct cw_buf buf;
    } cp;
    struct {                /* the journal being shortened after a compaction (fd >= 0) */
        int fd;
        int64_t from_byte; /* where its lines of seq >= the base's journal_from begin */
        int64_t at;        /* bytes of the journal copied so far (from from_byte) */
    } sh;
};

/* What one journal line says: the URLs of the endpoints whose unit it replaces (their new content in d's eps,
 * voters and votes), and which of d's sections it carries whole. */
struct statejournal_line {
    const char *const *changed;
    size_t n_changed;
    const struct statefile_data *d;
    bool section[STATEFILE_LOCATIONS + 1]; /* by enum statefile_section */
};

/* Paths under base_path (its ".journal" and ".compact"); next_seq and journal_good as statefile_load gave them
 * (0, 0: no journal yet); the base as it is now is taken as this process's. Too long a path: exit 2. */
void statejournal_init(struct statejournal *j, const char *base_path, int64_t next_seq, int64_t journal_good);

/* The text of line l (seq j->next_seq) into out (emptied first), ending in "\n". */
void statejournal_line_text(const struct statejournal *j, const struct statejournal_line *l, struct cw_buf *out);

/* Appends text (statejournal_line_text's) and fdatasyncs it: 0, and next_seq moves on; -1 with a reason in err
 * (nothing counts as written: the next append cuts off what got in); -2 when the journal is not the one this
 * process wrote (shorter, gone): the caller writes the whole base (statejournal_write_base). */
int statejournal_append(struct statejournal *j, const struct cw_buf *text, char *err, size_t errlen);

/* The whole base for d (a blocking write: at the start, after -2, or for a file of before the journal), with
 * journal_from = next_seq, then the journal emptied. fresh: the journal on disk is not known (no base, or one of
 * before the journal): it is removed first, so that no old line can follow the new base. 0, or -1 with err. */
int statejournal_write_base(struct statejournal *j, const struct statefile_data *d, bool fresh, char *err,
                            size_t errlen);

/* Compaction: begin (0, or -1 with err), items of one list after another (lists in enum order; d's entries of
 * list l), finish with d's sections (the new base renamed into place, the journal's shortening begun: 0; -1 with
 * err: a failure before the rename leaves the base and journal as they were, one after it the old journal whole,
 * which is still right with the new base), or abort (a reload: the endpoint table it walked changed). */
bool statejournal_compacting(const struct statejournal *j);
int statejournal_compact_begin(struct statejournal *j, char *err, size_t errlen);
int statejournal_compact_items(struct statejournal *j, enum statefile_list l, const struct statefile_data *d, char *err,
                               size_t errlen);
int statejournal_compact_finish(struct statejournal *j, const struct statefile_data *d, char *err, size_t errlen);
void statejournal_compact_abort(struct statejournal *j);

/* The journal is being shortened (after a compaction's base was renamed into place). */
bool statejournal_shortening(const struct statejournal *j);
/* Copies at most max_bytes more of the journal's lines after the base's journal_from (right after a save), and
 * when the copy has caught up, puts it in the journal's place: 1 when done, 0 to be called again, -1 with err
 * (then the journal stays as it was: still right, only longer). */
int statejournal_shorten_step(struct statejournal *j, int64_t max_bytes, char *err, size_t errlen);
void statejournal_shorten_abort(struct statejournal *j);

#endif
