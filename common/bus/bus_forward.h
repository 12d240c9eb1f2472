/* common/bus/bus_forward.h — inside the bus module only: the relay's forwarding loop between its bound XSUB and
 * XPUB (bus.c's bus_relay_run sets them up), and discarding the rest of a multipart message. */
#ifndef CW_BUS_FORWARD_H
#define CW_BUS_FORWARD_H

#include <stdbool.h>
#include <stddef.h>

#include "common/bus/bus.h"

/* Discards the rest of a multipart message on zsock (ZeroMQ socket). */
void bus_drain_frames(void *zsock);

/* Forwards both ways until stop() says so (data xsub -> xpub through admit; the taps' subscriptions xpub -> xsub as
 * they are); 0, or -1 with the reason of the failure in err. */
int bus_forward(void *xsub, void *xpub, int stop_fd, bool (*stop)(void *arg), bus_relay_admit_fn admit, void *arg,
                char *err, size_t errlen);

#endif
