/* common/proc/ready.h — a child's "I am ready" message to its supervisor: the sign that a child is up (its sockets
 * bound or connected, its database open, its port listening), which the supervisor needs before it tells systemd
 * READY=1 (supervisor/readiness.h, docs/protocol.md section 11).
 *
 * DESIGN
 * One datagram on a Unix socket the supervisor binds in run_dir; its path comes in the environment
 * (CLOCKWERK_READY_SOCKET). The supervisor learns who sent it from the kernel (SCM_CREDENTIALS: a pid the
 * sender cannot forge) and matches that pid against its child table; the message itself only repeats the role
 * and slot, as a check. Versioned, little-endian (common/base/le.h), decoded defensively:
 *     4 bytes magic "CWRY" | u8 version (1) | u8 role length n (1..15) | n bytes role (a-z) | u32 slot
 * and nothing after it. A child whose supervisor set no socket (started by hand, by a test) sends nothing. */
#ifndef CW_PROC_READY_H
#define CW_PROC_READY_H

#include <stddef.h>
#include <stdint.h>

#define PROC_READY_ENV "CLOCKWERK_READY_SOCKET"
#define PROC_READY_VERSION 1
#define PROC_READY_ROLE_MAX 15
#define PROC_READY_FIXED 10 /* magic, version, role length, slot */
#define PROC_READY_MSG_MAX (PROC_READY_FIXED + PROC_READY_ROLE_MAX)
#define PROC_READY_SEND_TIMEOUT_MS 1000 /* proc_ready: how long one send waits for room in a full queue */
#define PROC_READY_SEND_TRIES 5         /* ... and how many times it tries before it gives up */

struct proc_ready_msg {
    char role[PROC_READY_ROLE_MAX + 1]; /* "worker", "storer", ...: NUL-terminated */
    uint32_t slot;                      /* a worker's slot, 0 for the others */
};

/* Encodes the message into out (at least PROC_READY_MSG_MAX bytes): its length, or 0 when role is not 1..15
 * letters a-z. */
size_t proc_ready_encode(const char *role, uint32_t slot, uint8_t *out, size_t cap);

/* Decodes exactly len bytes: 0 with *m filled, or -1 with a static reason in *why ("truncated", "bad magic",
 * "unsupported version", "bad role", "trailing bytes"). */
int proc_ready_decode(const uint8_t *buf, size_t len, struct proc_ready_msg *m, const char **why);

#endif
