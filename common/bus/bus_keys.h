/* common/bus/bus_keys.h — CURVE keys for the bus (docs/protocol.md "Security"): the key-pair file that
 * `clockwerk keygen FILE` writes and every process reads, Z85 public keys from the configuration, and the
 * rule of when CURVE is required (a tcp:// address on anything but loopback).
 *
 * A key file is libconfig text, mode 0600, written once (never overwritten):
 *   # Clockwerk CURVE key pair ...
 *   public = "<40 Z85 characters>";
 *   secret = "<40 Z85 characters>";
 * The public half goes into the other hosts' bus.curve_server_key / bus.curve_allowed_keys. */
#ifndef CW_BUS_KEYS_H
#define CW_BUS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "common/bus/bus.h"

#define BUS_KEY_Z85_LEN BUS_CURVE_Z85

/* A CURVE key in Z85 text: exactly 40 characters of the Z85 alphabet. */
bool bus_key_valid(const char *z85);

/* Writes a new key pair to path (mode 0600; refuses an existing file) and its public half into
 * public_z85 (41 bytes). 0, or -1 with a one-line reason. */
int bus_keygen(const char *path, char *public_z85, char *err, size_t errlen);

/* Reads a key file: refused when group or others may read it, when a key is malformed, or when the public
 * key is not the secret key's. public_z85 and secret_z85: 41 bytes each. 0, or -1 with a reason (never a key). */
int bus_key_file_read(const char *path, char *public_z85, char *secret_z85, char *err, size_t errlen);

/* Whether a bus address stays on this machine: ipc://, or tcp:// to 127.0.0.0/8, [::1] or localhost. */
bool bus_address_local(const char *address);

#endif
