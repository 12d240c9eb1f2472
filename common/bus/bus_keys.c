/* common/bus/bus_keys.c — CURVE key files, configured keys and the loopback rule (see bus_keys.h). */
#include "common/bus/bus_keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

static const char z85_alphabet[] =
    "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool bus_key_valid(const char *z85)
{
    if (!z85 || strlen(z85) != BUS_KEY_Z85_LEN) return false;
    for (const char *c = z85; *c; c++)
        if (!strchr(z85_alphabet, *c)) return false;
    uint8_t bin[32];
    return zmq_z85_decode(bin, z85) != NULL;
}

int bus_keygen(const char *path, char *public_z85, char *err, size_t errlen)
{
    char secret[BUS_KEY_Z85_LEN + 1];
    if (zmq_curve_keypair(public_z85, secret) != 0) {
        snprintf(err, errlen, "cannot make a CURVE key pair: %s (is libzmq built with CURVE?)", zmq_strerror(errno));
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create %s: %s%s", path, strerror(errno),
                 errno == EEXIST ? " (a key file is never overwritten: remove it first, or choose another name)" : "");
        return -1;
    }
    char text[512];
    int n = snprintf(text, sizeof text,
                     "# Clockwerk CURVE key pair, made by `clockwerk keygen`. Keep this file secret (mode 0600).\n"
                     "# Give the public key to the other hosts: bus.curve_server_key on the hosts that connect to\n"
                     "# this one, bus.curve_allowed_keys on the host this one connects to.\n"
                     "public = \"%s\";\nsecret = \"%s\";\n",
                     public_z85, secret);
    bool ok = n > 0 && (size_t)n < sizeof text && write(fd, text, (size_t)n) == n && fsync(fd) == 0;
    int saved = errno;
    memset(secret, 0, sizeof secret);
    memset(text, 0, sizeof text);
    if (close(fd) != 0) ok = false;
    if (!ok) {
        snprintf(err, errlen, "cannot write %s: %s", path, strerror(saved));
        unlink(path);
        return -1;
    }
    return 0;
}

int bus_key_file_read(const char *path, char *public_z85, char *secret_z85, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "cannot read the CURVE key file %s: %s", path, strerror(errno));
        return -1;
    }
    if (st.st_mode & 077) {
        snprintf(err, errlen, "the CURVE key file %s may be read by others (mode %03o): chmod 600 %s", path,
                 (unsigned)(st.st_mode & 0777), path);
        return -1;
    }
    config_t c;
    config_init(&c);
    int rc = -1;
    const char *pub = NULL, *sec = NULL;
    if (config_read_file(&c, path) != CONFIG_TRUE) {
        if (config_error_type(&c) == CONFIG_ERR_FILE_IO)
            snprintf(err, errlen, "cannot read the CURVE key file %s: %s", path, strerror(errno));
        else
            snprintf(err, errlen, "%s:%d: not a CURVE key file (make one with `clockwerk keygen FILE`)", path,
                     config_error_line(&c));
    } else if (!config_lookup_string(&c, "public", &pub) || !config_lookup_string(&c, "secret", &sec)) {
        snprintf(err, errlen, "%s: a CURVE key file needs public and secret (make one with `clockwerk keygen FILE`)",
                 path);
    } else if (!bus_key_valid(pub) || !bus_key_valid(sec)) {
        snprintf(err, errlen, "%s: a key is not 40 characters of Z85", path);
    } else {
        char derived[BUS_KEY_Z85_LEN + 1];
        if (zmq_curve_public(derived, sec) != 0 || strcmp(derived, pub) != 0) {
            snprintf(err, errlen, "%s: the public key is not the secret key's", path);
        } else {
            memcpy(public_z85, pub, BUS_KEY_Z85_LEN + 1);
            memcpy(secret_z85, sec, BUS_KEY_Z85_LEN + 1);
            rc = 0;
        }
    }
    config_destroy(&c);
    return rc;
}

bool bus_address_local(const char *address)
{
    if (!address) return false;
    if (strncmp(address, "ipc://", 6) == 0 || strncmp(address, "inproc://", 9) == 0) return true;
    if (strncmp(address, "tcp://", 6) != 0) return false;
    const char *host = address + 6;
    const char *colon = strrchr(host, ':');
    size_t len = colon ? (size_t)(colon - host) : strlen(host);
    if (len == 9 && strncmp(host, "localhost", 9) == 0) return true;
    if (len == 5 && strncmp(host, "[::1]", 5) == 0) return true;
    if (len >= 4 && strncmp(host, "127.", 4) == 0) {
        for (size_t i = 4; i < len; i++)
            if (!(host[i] == '.' || (host[i] >= '0' && host[i] <= '9'))) return false;
        return true;
    }
    return false;
}
