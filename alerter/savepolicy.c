/* alerter/savepolicy.c — when the state file must be written (see savepolicy.h). */
#include "alerter/savepolicy.h"

void savepolicy_note(struct savepolicy *sp, enum save_need need) { sp->need = save_need_max(sp->need, need); }

bool savepolicy_due(const struct savepolicy *sp, int64_t now_us, bool acks_waiting)
{
    if (sp->retry_at_us && now_us < sp->retry_at_us) return false;
    int64_t since = now_us - sp->last_save_us;
    switch (sp->need) {
    case SAVE_NOW:
        return true;
    case SAVE_SOON:
        return since >= SAVE_SOON_US || (acks_waiting && since >= SAVE_ACK_US);
    case SAVE_LIGHT:
        return since >= SAVE_LIGHT_US || (acks_waiting && since >= SAVE_ACK_US);
    case SAVE_NONE:
        break;
    }
    return false;
}

int64_t savepolicy_deadline(const struct savepolicy *sp, bool acks_waiting)
{
    int64_t at = INT64_MAX;
    if (sp->need == SAVE_NOW) at = sp->last_save_us;
    else if (sp->need == SAVE_SOON) at = sp->last_save_us + SAVE_SOON_US;
    else if (sp->need == SAVE_LIGHT) at = sp->last_save_us + SAVE_LIGHT_US;
    if (acks_waiting && sp->last_save_us + SAVE_ACK_US < at) at = sp->last_save_us + SAVE_ACK_US;
    if (at != INT64_MAX && at < sp->retry_at_us) at = sp->retry_at_us;
    return at;
}

void savepolicy_heartbeat(struct savepolicy *sp, int64_t now_us)
{
    if (now_us - sp->last_save_us >= SAVE_HEARTBEAT_US) savepolicy_note(sp, SAVE_LIGHT);
}

void savepolicy_saved(struct savepolicy *sp, int64_t now_us)
{
    sp->need = SAVE_NONE;
    sp->last_save_us = now_us;
    sp->retry_at_us = 0;
}

void savepolicy_failed(struct savepolicy *sp, int64_t now_us) { sp->retry_at_us = now_us + SAVE_RETRY_US; }
