/*
 * The parts every transport shares: argument checks, the response contract
 * (at least SW1 SW2, never more than the caller's buffer), ownership.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "jpki/error.h"
#include "reader/reader_int.h"

int
jpki_reader_new(const struct jpki_reader_ops *ops, void *impl, const char *name,
                jpki_reader_t **out)
{
	jpki_reader_t *rd = NULL;
	int r = JPKI_ERR_INTERNAL;

	if (out != NULL)
		*out = NULL;
	if (ops == NULL || ops->transmit == NULL || name == NULL || out == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((rd = calloc(1, sizeof(*rd))) == NULL || (rd->name = strdup(name)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	rd->ops = ops;
	rd->impl = impl;
	*out = rd;
	rd = NULL;
	r = 0;
out:
	if (rd != NULL) {
		free(rd->name);
		free(rd);
	}
	return r;
}

void
jpki_reader_close(jpki_reader_t *rd)
{
	if (rd == NULL)
		return;
	if (rd->ops->close != NULL)
		rd->ops->close(rd->impl);
	free(rd->name);
	free(rd);
}

const char *
jpki_reader_name(const jpki_reader_t *rd)
{
	return rd != NULL ? rd->name : "";
}

int
jpki_reader_transmit(jpki_reader_t *rd, const uint8_t *cmd, size_t cmd_len,
                     uint8_t *rsp, size_t rsp_max, size_t *rsp_len)
{
	size_t n = 0;
	int r = JPKI_ERR_INTERNAL;

	if (rsp_len != NULL)
		*rsp_len = 0;
	if (rd == NULL || cmd == NULL || cmd_len < 4 || cmd_len > JPKI_APDU_MAX ||
	    rsp == NULL || rsp_max < 2 || rsp_len == NULL) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((r = rd->ops->transmit(rd->impl, rd->name, cmd, cmd_len, rsp, rsp_max, &n)) != 0)
		goto out;
	/* A transport that broke the contract is a bug, not a card answer. */
	if (n < 2 || n > rsp_max) {
		OPENSSL_cleanse(rsp, rsp_max);
		jpki_set_detail("reader '%s': response of %zu bytes", rd->name, n);
		r = JPKI_ERR_CARD;
		goto out;
	}
	*rsp_len = n;
	r = 0;
out:
	return r;
}

int
jpki_reader_reset(jpki_reader_t *rd)
{
	if (rd == NULL)
		return JPKI_ERR_INVALID_ARG;
	if (rd->ops->reset == NULL)
		return 0;
	return rd->ops->reset(rd->impl, rd->name);
}

#ifndef JPKI_HAVE_PCSC
/* Built without pcsc-lite: the PC/SC calls exist and say why they cannot work. */
int
jpki_reader_list(char ***names, size_t *n)
{
	if (names != NULL)
		*names = NULL;
	if (n != NULL)
		*n = 0;
	jpki_set_detail("built without PC/SC support (pcsc-lite not found at build time)");
	return JPKI_ERR_NO_READER;
}

void
jpki_reader_list_free(char **names)
{
	size_t i;

	if (names == NULL)
		return;
	for (i = 0; names[i] != NULL; i++)
		free(names[i]);
	free(names);
}

int
jpki_reader_open_pcsc(const char *name, jpki_reader_t **out)
{
	if (out != NULL)
		*out = NULL;
	jpki_set_detail("built without PC/SC support (pcsc-lite not found at build time)");
	return JPKI_ERR_NO_READER;
}
#endif
