/* common/wire/jsonnew.h — the one guard every json-c builder uses: a json-c constructor's result, or a fatal exit
 * when it returned NULL (out of memory), so that builders need no NULL check at each call. */
#ifndef CW_JSONNEW_H
#define CW_JSONNEW_H

#include <json-c/json.h>

#include "common/base/log.h"

static inline json_object *cw_jnew(json_object *o)
{
    if (!o) fatal(1, "out of memory (json)");
    return o;
}

#endif
