/* worker/retire.h — the shards a worker's reloads in place set aside (issue 18), each kept until the last check that
 * started under it is collected. Pure logic (no I/O, no clock): tests/unit/test_worker_retire.c; worker/reload.c
 * frees what it hands back.
 *
 * DESIGN
 * - Generations: every shard the worker runs gets a tag (a uint32_t, never 0); a check started under it carries the
 *   tag in busy[id] (0: no check in flight), and busy[] is renumbered with the ids at each reload (retire_remap_busy),
 *   so a check keeps the tag of the shard it started under whatever reloads come after.
 * - At a reload the running shard becomes a struct retired (its configuration, headers and compiled assertions)
 *   whose in_flight counts the checks in flight carrying its tag; one with none is freed at once. Each retired
 *   generation counts its own checks only: collecting a check decrements its owner (retire_check_over), and the
 *   owner is freed as soon as its count reaches 0, whatever the other generations still hold. So a retired shard
 *   lives at most as long as the longest check started under it (its timeout), and how many are kept is bounded
 *   by the checks in flight, not by the number of reloads.
 * - A new tag skips 0 and every tag still owned by a retired generation (retire_next_gen): wrapping around after
 *   2^32 reloads cannot make two generations share one. */
#ifndef CW_WORKER_RETIRE_H
#define CW_WORKER_RETIRE_H

#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>

#include "common/config/config.h"
#include "worker/probe.h"

/* What a reload in place retires, kept while checks started under it are in flight. */
struct retired {
    uint32_t gen;                /* the tag its checks carry in busy[] */
    size_t in_flight;            /* its checks still in flight (> 0 while it is listed) */
    struct cw_config *cfg;       /* the previous shard: the checks in flight hold its endpoints */
    struct curl_slist **headers; /* per endpoint of cfg */
    struct probe_asserts asserts;
    struct retired *next;
};

/* The tag after cur: not 0, not the tag of any generation on list. */
uint32_t retire_next_gen(const struct retired *list, uint32_t cur);

/* How many generations are on list. */
size_t retire_count(const struct retired *list);

/* A check tagged gen was collected: its generation's count goes down; when that was its last check, the generation
 * is unlinked from *list and returned (the caller frees it). NULL otherwise (also for a gen not on the list: the
 * running one). */
struct retired *retire_check_over(struct retired **list, uint32_t gen);

/* The reload's renumbering of busy[0..n_ids): map (old id -> new id, its first n_old entries from remap_build; the
 * rest is overwritten) sends a busy id whose endpoint was removed, or an older orphan, to a new orphan id n + k.
 * Returns the new busy array (allocated; *n_ids_out ids: n + orphans, tags kept) and sets *cur_in_flight to how
 * many checks carry cur (the generation being retired). */
uint32_t *retire_remap_busy(const uint32_t *busy, size_t n_ids, uint32_t *map, size_t n_old, size_t n, uint32_t cur,
                            size_t *n_ids_out, size_t *cur_in_flight);

#endif
