/*
 * The remote window (jpki_window_connect): every act of jpki/registry.h done
 * by jpkid's office API (docs/online-window.md) instead of a local store.
 * Each public window function hands over to its remote_* twin, with the same
 * contract, when w->remote is set.  Card acts relay the server's card
 * commands to the reader at this window; the issuer key stays on the server.
 */
#ifndef JPKI_REGISTRY_REMOTE_H
#define JPKI_REGISTRY_REMOTE_H

#include "jpki/registry.h"

struct remote;

void remote_free(struct remote *rm);

int remote_operator_add(jpki_window_t *w, const char *name, const char *secret);
int remote_login(jpki_window_t *w, const char *name, const char *secret);
int remote_registry_add(jpki_window_t *w, jpki_resident_t *r, const jpki_photo_id_t *pid);
int remote_registry_get(jpki_window_t *w, const char *id, jpki_resident_t *out);
int remote_registry_foreach(jpki_window_t *w, jpki_resident_cb cb, void *ctx);
int remote_registry_change(jpki_window_t *w, const char *id, jpki_fact_t f, const char *value,
                           const jpki_date_t *effective, int *revoked, char ref[JPKI_ID_LEN]);
int remote_registry_cards(jpki_window_t *w, const char *resident, jpki_card_rec_cb cb,
                          void *ctx);
int remote_registry_card(jpki_window_t *w, const char *number, jpki_card_rec_t *out);
int remote_act_get(jpki_window_t *w, const char *ref, jpki_act_t *out);
int remote_pending(jpki_window_t *w, const char *resident, jpki_act_t *act);
int remote_issue(jpki_window_t *w, const char *resident, jpki_reader_t *rd,
                 const jpki_issue_opts_t *opts, const jpki_pins_t *pins,
                 const jpki_photo_id_t *pid, jpki_act_t *act);
int remote_reissue(jpki_window_t *w, const char *resident, jpki_ca_kind_t which, int renewal,
                   jpki_reader_t *rd, const jpki_pins_t *pins, const jpki_photo_id_t *pid,
                   jpki_act_t *act);
int remote_revoke(jpki_window_t *w, const char *resident, int which, jpki_window_reason_t why,
                  const jpki_photo_id_t *pid, jpki_act_t *act);
int remote_suspend(jpki_window_t *w, const char *resident, const char *card, jpki_act_t *act);
int remote_release(jpki_window_t *w, const char *resident, const jpki_photo_id_t *pid,
                   jpki_act_t *act);
int remote_pin_init(jpki_window_t *w, const char *resident, jpki_pin_kind_t which,
                    const char *new_pin, jpki_reader_t *rd, const jpki_photo_id_t *pid,
                    jpki_act_t *act);
int remote_return_card(jpki_window_t *w, const char *resident, const char *card,
                       const jpki_photo_id_t *pid, jpki_act_t *act);
int remote_resume(jpki_window_t *w, const char *ref, jpki_reader_t *rd, const jpki_pins_t *pins,
                  jpki_act_t *act);
int remote_undo(jpki_window_t *w, const char *ref, jpki_act_t *act);
int remote_cert_get(jpki_window_t *w, jpki_ca_kind_t kind, const uint8_t *serial, size_t len,
                    jpki_cert_rec_t *rec);
int remote_note(jpki_window_t *w, const char *action, const char *object, const char *result,
                const char *detail);

#endif
