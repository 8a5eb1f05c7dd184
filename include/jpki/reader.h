/*
 * Reaching a card: PC/SC readers (real ones, and the virtual card through
 * pcscd + vpcd) and an in-process transport straight to the applet for tests.
 * Every program of ours talks to cards only through this layer.
 */
#ifndef JPKI_READER_H
#define JPKI_READER_H

#include <stddef.h>
#include <stdint.h>

#include "jpki/card.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct jpki_reader jpki_reader_t;

/* Names of the PC/SC readers; *names is a NULL-terminated malloc'd array
 * (free with jpki_reader_list_free()).  JPKI_ERR_NO_READER when there are none. */
int jpki_reader_list(char ***names, size_t *n);
void jpki_reader_list_free(char **names);
/* Connect to the card in the named reader, or (name NULL) in the first reader
 * that holds a card.  JPKI_ERR_NO_READER, JPKI_ERR_NO_CARD as the case is. */
int jpki_reader_open_pcsc(const char *name, jpki_reader_t **out);
/* A transport straight to an in-process applet (card is not owned). */
int jpki_reader_open_inproc(jpki_card_t *card, jpki_reader_t **out);
void jpki_reader_close(jpki_reader_t *rd);
/* The reader's name ("in-process" for the in-process transport). */
const char *jpki_reader_name(const jpki_reader_t *rd);
/* Send one APDU; rsp gets data + SW1 SW2.  JPKI_ERR_CARD_REMOVED if the card
 * left the reader. */
int jpki_reader_transmit(jpki_reader_t *rd, const uint8_t *cmd, size_t cmd_len,
                         uint8_t *rsp, size_t rsp_max, size_t *rsp_len);
/* Reset the card (a warm reset: clears its security state). */
int jpki_reader_reset(jpki_reader_t *rd);

#ifdef __cplusplus
}
#endif
#endif
