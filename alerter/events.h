/* alerter/events.h — the wording of every alert kind, in one table (as Monit keeps its event texts):
 * the word used in subjects ("DOWN") and the phrase used in sentences ("is down"). */
#ifndef CW_ALERTER_EVENTS_H
#define CW_ALERTER_EVENTS_H

/* kind is an enum cw_alert_kind; unknown kinds get "ALERT" / "changed state". Never NULL. */
const char *events_word(unsigned kind);
const char *events_phrase(unsigned kind);

#endif
