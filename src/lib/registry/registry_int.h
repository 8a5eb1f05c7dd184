/* Shared inside src/lib/registry: the window handle and the document codecs. */
#ifndef JPKI_REGISTRY_INT_H
#define JPKI_REGISTRY_INT_H

#include "jpki/audit.h"
#include "jpki/registry.h"

struct jpki_window {
	jpki_ca_t *ca;
	jpki_store_t *st;          /* the CA's store (not owned) */
	jpki_audit_t audit;
	char operator_name[64];    /* logged-in operator, "" before */
	char dir[4096];
	struct remote *remote;     /* jpki_window_connect: acts go to jpkid (remote.h) */
};

int reg_resident_save(jpki_window_t *w, const jpki_resident_t *r, int mode);
int reg_card_save(jpki_window_t *w, const jpki_card_rec_t *c, int mode);
/* An act document: the public fields plus the journal's own (extra: more
 * "key=value\n" lines, may be NULL). */
int reg_act_save(jpki_window_t *w, const jpki_act_t *a, const char *extra, int mode);
/* The act and its whole body (for the journal's fields): *body malloc'd. */
int reg_act_load(jpki_window_t *w, const char *ref, jpki_act_t *a, char **body);
/* A new act of kind for the logged-in operator: reference number, time,
 * photo ID masked.  JPKI_ERR_AUTH when nobody is logged in. */
int reg_act_new(jpki_window_t *w, jpki_act_kind_t kind, const char *resident,
                const jpki_photo_id_t *pid, jpki_act_t *a);
/* Audit an act with its outcome. */
int reg_audit_act(jpki_window_t *w, const jpki_act_t *a, const char *outcome);
/* "A1B2..." of a serial (empty for len 0). */
void reg_hex(const uint8_t *s, size_t len, char out[2 * JPKI_SERIAL_MAX + 1]);

/* Act as name without a credential: for jpkid, once it has authenticated
 * the caller itself (an office's token, the card's signature on an online
 * revocation, "online:<card>").  Never reached from a command line. */
void reg_act_as(jpki_window_t *w, const char *name);
/* The card that holds (or held) the certificate kind/serial: through the
 * "certcard" index written by reg_card_save.  JPKI_ERR_NOT_FOUND. */
int reg_card_by_serial(jpki_window_t *w, jpki_ca_kind_t kind, const uint8_t *s, size_t n,
                       jpki_card_rec_t *out);

#endif
