/*
 * The window's records as JSON (jansson), for the office API between
 * `jpki-office --server` and jpkid (docs/online-window.md).  Both ends use
 * these, so a record crosses the wire and comes back equal.
 *
 * Field names are the C field names.  Strings are UTF-8 JSON strings, dates
 * ("dob", "issued", "expiry", "effective") "YYYY-MM-DD", serials upper-case
 * hex strings ("" for none), enums their numeric value, times (int64 Unix
 * seconds) JSON integers.  A decoder refuses (JPKI_ERR_FORMAT, detail naming
 * the field) a missing field of the wrong type, a string longer than its C
 * array, a bad date; unknown fields are ignored.
 */
#ifndef JPKI_REGISTRY_WIRE_H
#define JPKI_REGISTRY_WIRE_H

#include <jansson.h>

#include "jpki/registry.h"

/* Encoders return a new reference, or NULL when out of memory. */
json_t *wire_resident(const jpki_resident_t *r);
json_t *wire_card(const jpki_card_rec_t *c);
json_t *wire_act(const jpki_act_t *a);
/* The photo ID as shown: {"kind": "...", "number": "..."}; NULL pid: null. */
json_t *wire_pid(const jpki_photo_id_t *pid);
/* {"kind":n,"no_sign":0,"no_auth":0,"under15_reason":s|null,
 *  "card_expiry":"YYYY-MM-DD"|null,"fee":n,"reissue_after_loss":0} */
json_t *wire_issue_opts(const jpki_issue_opts_t *o);
/* {"sign": s|null, "auth": s|null} */
json_t *wire_pins(const jpki_pins_t *p);

int wire_resident_get(const json_t *j, jpki_resident_t *r);
int wire_card_get(const json_t *j, jpki_card_rec_t *c);
int wire_act_get(const json_t *j, jpki_act_t *a);
/* The strings point into j (valid while j lives).  null: pid->kind NULL. */
int wire_pid_get(const json_t *j, jpki_photo_id_t *pid);
/* card_expiry is written into *expiry_store and pointed to from o. */
int wire_issue_opts_get(const json_t *j, jpki_issue_opts_t *o, jpki_date_t *expiry_store);
/* The strings point into j. */
int wire_pins_get(const json_t *j, jpki_pins_t *p);

/* A string member (NULL when absent or null; JPKI_ERR_FORMAT for another
 * type) and an integer member (def when absent). */
int wire_str(const json_t *obj, const char *key, const char **out);
int wire_int(const json_t *obj, const char *key, int64_t def, int64_t *out);

#endif
