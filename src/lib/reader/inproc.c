/*
 * The in-process transport: APDUs go straight to jpki_card_apdu(), so unit
 * tests and the personalization tools reach the applet without pcscd.
 */
#include <string.h>

#include <openssl/crypto.h>

#include "jpki/card.h"
#include "jpki/error.h"
#include "reader/reader_int.h"

static int
inproc_transmit(void *impl, const char *name, const uint8_t *cmd, size_t cmd_len,
                uint8_t *rsp, size_t rsp_max, size_t *rsp_len)
{
	uint8_t buf[JPKI_RAPDU_MAX];
	size_t n = 0;
	int r;

	*rsp_len = 0;
	if ((r = jpki_card_apdu(impl, cmd, cmd_len, buf, &n)) != 0) {
		/* The card file could not be written: the card answers nothing. */
		jpki_set_detail("reader '%s': the card gave no answer (its state file could not be "
		                "saved)", name);
		goto out;
	}
	if (n > rsp_max) {
		jpki_set_detail("reader '%s': a %zu-byte answer does not fit in %zu bytes", name, n,
		                rsp_max);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(rsp, buf, n);
	*rsp_len = n;
	r = 0;
out:
	OPENSSL_cleanse(buf, sizeof(buf));
	return r;
}

static int
inproc_reset(void *impl, const char *name)
{
	jpki_card_reset(impl);
	return 0;
}

static const struct jpki_reader_ops inproc_ops = {
	inproc_transmit,
	inproc_reset,
	NULL,   /* the card is the caller's */
};

int
jpki_reader_open_inproc(jpki_card_t *card, jpki_reader_t **out)
{
	if (out != NULL)
		*out = NULL;
	if (card == NULL || out == NULL)
		return JPKI_ERR_INVALID_ARG;
	return jpki_reader_new(&inproc_ops, card, "in-process", out);
}
