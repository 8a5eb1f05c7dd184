/* Shared inside src/lib/verify/ only. */
#ifndef JPKI_VERIFY_INT_H
#define JPKI_VERIFY_INT_H

#include "jpki/verify.h"

/* Chain to o->anchor at o->at, the identity (when the certificate has one),
 * then the status unless o->no_status: the steps after the signature that
 * jpki_cms_verify and jpki_login_verify share. */
int jpki_verify_cert_status(X509 *cert, const jpki_verify_opts_t *o, jpki_verified_t *out);

#endif
