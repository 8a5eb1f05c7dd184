/*
 * PC/SC readers through pcsc-lite: real readers, and the virtual card that
 * jpki-card plugs into pcscd through vpcd.  Compiled only when pcsc-lite is
 * found (CMake picks this file by name).
 *
 * Every PC/SC failure becomes one of the JPKI_ERR_* codes with a detail that
 * names the reader and pcsc-lite's own words, so a user sees
 * "card was removed: reader 'Virtual PCD 00 00': ..." rather than a hex code.
 */
#include <stdlib.h>
#include <string.h>

#include <PCSC/winscard.h>
#include <PCSC/wintypes.h>

#include <openssl/crypto.h>

#include "jpki/error.h"
#include "reader/reader_int.h"

#define RBUF_MAX (JPKI_RAPDU_MAX + 2)
#define NAMES_MAX 65536            /* the multi-string of reader names */
#define T0_ROUNDS 16               /* GET RESPONSE / 6Cxx rounds before giving up */
#define GONE_WAIT_MS 2000          /* how long pcscd may take to notice a removal */
#define GONE_STEP_MS 200

struct pcsc {
	SCARDCONTEXT ctx;
	SCARDHANDLE h;
	int have_ctx, have_h;
	DWORD proto;
};

/*
 * The one place PC/SC return codes become ours.  in_session: a card was
 * connected, so "no card" means it left (CARD_REMOVED) rather than was never
 * there (NO_CARD).
 */
static int
pcsc_err(LONG rv, const char *reader, const char *what, int in_session)
{
	const char *why = pcsc_stringify_error(rv);
	int r;

	switch (rv) {
	case SCARD_E_NO_SERVICE:
	case SCARD_E_SERVICE_STOPPED:
	case SCARD_F_COMM_ERROR:
		jpki_set_detail("%s%s%s%s: the PC/SC service (pcscd) is not running: %s",
		                reader ? "reader '" : "", reader ? reader : "", reader ? "': " : "",
		                what, why);
		return JPKI_ERR_NO_READER;
	case SCARD_E_NO_READERS_AVAILABLE:
		jpki_set_detail("%s: no card reader is connected: %s", what, why);
		return JPKI_ERR_NO_READER;
	case SCARD_E_UNKNOWN_READER:
	case SCARD_E_READER_UNAVAILABLE:
		r = in_session ? JPKI_ERR_CARD_REMOVED : JPKI_ERR_NO_READER;
		break;
	case SCARD_E_NO_SMARTCARD:
	case SCARD_W_REMOVED_CARD:
	case SCARD_W_UNPOWERED_CARD:
		r = in_session ? JPKI_ERR_CARD_REMOVED : JPKI_ERR_NO_CARD;
		break;
	case SCARD_W_UNRESPONSIVE_CARD:
		r = JPKI_ERR_CARD;
		break;
	case SCARD_W_RESET_CARD:
		/* Another program reset the card: our PIN state is gone. */
		r = JPKI_ERR_STATE;
		break;
	case SCARD_E_SHARING_VIOLATION:
	case SCARD_E_TIMEOUT:
		r = JPKI_ERR_BUSY;
		break;
	case SCARD_E_NO_MEMORY:
		r = JPKI_ERR_NOMEM;
		break;
	case SCARD_E_INSUFFICIENT_BUFFER:
		r = JPKI_ERR_TOO_LARGE;
		break;
	default:
		r = JPKI_ERR_IO;
		break;
	}
	if (reader != NULL)
		jpki_set_detail("reader '%s': %s: %s (0x%08lX)", reader, what, why,
		                (unsigned long)rv);
	else
		jpki_set_detail("%s: %s (0x%08lX)", what, why, (unsigned long)rv);
	return r;
}

static void
pcsc_free(struct pcsc *p)
{
	if (p == NULL)
		return;
	if (p->have_h)
		/* Reset on the way out: a verified PIN never outlives the program. */
		SCardDisconnect(p->h, SCARD_RESET_CARD);
	if (p->have_ctx)
		SCardReleaseContext(p->ctx);
	free(p);
}

static void
pcsc_close(void *impl)
{
	pcsc_free(impl);
}

static const SCARD_IO_REQUEST *
pci_of(DWORD proto)
{
	return proto == SCARD_PROTOCOL_T0 ? SCARD_PCI_T0 : SCARD_PCI_T1;
}

/*
 * After a transmit failed for no stated reason (SCARD_E_NOT_TRANSACTED: the
 * reader driver lost the card mid-command), ask pcscd whether the card is
 * still in the reader, giving it up to GONE_WAIT_MS to notice.  1 if gone.
 */
static int
card_gone(struct pcsc *p, const char *name)
{
	SCARD_READERSTATE st;
	int waited;
	LONG rv;

	memset(&st, 0, sizeof(st));
	st.szReader = name;
	st.dwCurrentState = SCARD_STATE_UNAWARE;
	for (waited = 0; waited <= GONE_WAIT_MS; waited += GONE_STEP_MS) {
		rv = SCardGetStatusChange(p->ctx, waited == 0 ? 0 : GONE_STEP_MS, &st, 1);
		if (rv != SCARD_S_SUCCESS && rv != SCARD_E_TIMEOUT)
			return rv == SCARD_E_UNKNOWN_READER || rv == SCARD_E_READER_UNAVAILABLE;
		if (rv == SCARD_S_SUCCESS) {
			if (st.dwEventState & (SCARD_STATE_EMPTY | SCARD_STATE_UNAVAILABLE |
			                       SCARD_STATE_UNKNOWN))
				return 1;
			st.dwCurrentState = st.dwEventState & ~SCARD_STATE_CHANGED;
		}
	}
	return 0;
}

/* One SCardTransmit into rbuf (RBUF_MAX bytes). */
static int
xmit(struct pcsc *p, const char *name, const uint8_t *cmd, size_t cmd_len, uint8_t *rbuf,
     size_t *rlen)
{
	DWORD n = RBUF_MAX;
	LONG rv;

	*rlen = 0;
	rv = SCardTransmit(p->h, pci_of(p->proto), cmd, (DWORD)cmd_len, NULL, rbuf, &n);
	if ((rv == SCARD_E_NOT_TRANSACTED || rv == SCARD_F_COMM_ERROR) && card_gone(p, name))
		rv = SCARD_W_REMOVED_CARD;
	if (rv != SCARD_S_SUCCESS)
		return pcsc_err(rv, name, "transmit", 1);
	if (n < 2 || n > RBUF_MAX) {
		jpki_set_detail("reader '%s': the card answered %lu bytes", name, (unsigned long)n);
		return JPKI_ERR_CARD;
	}
	*rlen = n;
	return 0;
}

/*
 * Transmit, with the T=0 conventions a reader driver may leave to us:
 * 61xx (more data: GET RESPONSE) and 6Cxx (wrong Le: send again with xx).
 * JPKI cards speak T=1, where neither happens.
 */
static int
pcsc_transmit(void *impl, const char *name, const uint8_t *cmd, size_t cmd_len,
              uint8_t *rsp, size_t rsp_max, size_t *rsp_len)
{
	struct pcsc *p = impl;
	uint8_t rbuf[RBUF_MAX], again[JPKI_APDU_MAX];
	uint8_t getrsp[5] = {0x00, 0xC0, 0x00, 0x00, 0x00};
	size_t rlen = 0, have = 0, dlen;
	int r, round;

	*rsp_len = 0;
	if ((r = xmit(p, name, cmd, cmd_len, rbuf, &rlen)) != 0)
		goto out;
	for (round = 0; round < T0_ROUNDS; round++) {
		uint8_t sw1 = rbuf[rlen - 2], sw2 = rbuf[rlen - 1];

		if (sw1 == 0x6C && cmd_len >= 5 && cmd_len <= sizeof(again) && have == 0) {
			memcpy(again, cmd, cmd_len);
			again[cmd_len - 1] = sw2;
			if ((r = xmit(p, name, again, cmd_len, rbuf, &rlen)) != 0)
				goto out;
			continue;
		}
		if (sw1 != 0x61)
			break;
		/* Keep the data so far, then fetch the rest. */
		dlen = rlen - 2;
		if (have + dlen + 2 > rsp_max) {
			r = JPKI_ERR_TOO_LARGE;
			jpki_set_detail("reader '%s': the answer does not fit in %zu bytes", name,
			                rsp_max);
			goto out;
		}
		memcpy(rsp + have, rbuf, dlen);
		have += dlen;
		getrsp[4] = sw2;
		if ((r = xmit(p, name, getrsp, sizeof(getrsp), rbuf, &rlen)) != 0)
			goto out;
	}
	if (round == T0_ROUNDS) {
		jpki_set_detail("reader '%s': the card kept answering 61xx/6Cxx", name);
		r = JPKI_ERR_CARD;
		goto out;
	}
	if (have + rlen > rsp_max) {
		jpki_set_detail("reader '%s': a %zu-byte answer does not fit in %zu bytes", name,
		                have + rlen, rsp_max);
		r = JPKI_ERR_TOO_LARGE;
		goto out;
	}
	memcpy(rsp + have, rbuf, rlen);
	*rsp_len = have + rlen;
	r = 0;
out:
	if (r != 0)
		OPENSSL_cleanse(rsp, rsp_max);
	OPENSSL_cleanse(rbuf, sizeof(rbuf));
	OPENSSL_cleanse(again, sizeof(again));
	return r;
}

static int
pcsc_reset(void *impl, const char *name)
{
	struct pcsc *p = impl;
	DWORD proto = 0;
	LONG rv;

	rv = SCardReconnect(p->h, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
	                    SCARD_RESET_CARD, &proto);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_err(rv, name, "reset", 1);
	p->proto = proto;
	return 0;
}

static const struct jpki_reader_ops pcsc_ops = {
	pcsc_transmit,
	pcsc_reset,
	pcsc_close,
};

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

/* The reader names of ctx as a NULL-terminated array. */
static int
list_names(SCARDCONTEXT ctx, char ***names, size_t *count)
{
	char *multi = NULL, **v = NULL;
	DWORD len = 0;
	size_t i, n = 0, off;
	LONG rv;
	int r = JPKI_ERR_INTERNAL;

	*names = NULL;
	*count = 0;
	rv = SCardListReaders(ctx, NULL, NULL, &len);
	if (rv != SCARD_S_SUCCESS) {
		r = pcsc_err(rv, NULL, "listing readers", 0);
		goto out;
	}
	if (len < 2 || len > NAMES_MAX) {
		jpki_set_detail("PC/SC gave a reader list of %lu bytes", (unsigned long)len);
		r = len < 2 ? JPKI_ERR_NO_READER : JPKI_ERR_TOO_LARGE;
		goto out;
	}
	if ((multi = calloc(1, (size_t)len + 1)) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	rv = SCardListReaders(ctx, NULL, multi, &len);
	if (rv != SCARD_S_SUCCESS) {
		r = pcsc_err(rv, NULL, "listing readers", 0);
		goto out;
	}
	/* "a\0b\0\0", bounded by len even if the terminators are missing. */
	for (off = 0; off < len && multi[off] != '\0'; off += strlen(multi + off) + 1)
		n++;
	if (n == 0) {
		jpki_set_detail("no card reader is connected");
		r = JPKI_ERR_NO_READER;
		goto out;
	}
	if ((v = calloc(n + 1, sizeof(*v))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	for (i = 0, off = 0; i < n; i++, off += strlen(multi + off) + 1) {
		if ((v[i] = strdup(multi + off)) == NULL) {
			r = JPKI_ERR_NOMEM;
			goto out;
		}
	}
	*names = v;
	*count = n;
	v = NULL;
	r = 0;
out:
	jpki_reader_list_free(v);
	free(multi);
	return r;
}

int
jpki_reader_list(char ***names, size_t *n)
{
	SCARDCONTEXT ctx;
	LONG rv;
	int r;

	if (names != NULL)
		*names = NULL;
	if (n != NULL)
		*n = 0;
	if (names == NULL || n == NULL)
		return JPKI_ERR_INVALID_ARG;
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &ctx);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_err(rv, NULL, "connecting to pcscd", 0);
	r = list_names(ctx, names, n);
	SCardReleaseContext(ctx);
	return r;
}

static int
connect_one(struct pcsc *p, const char *name)
{
	LONG rv;

	rv = SCardConnect(p->ctx, name, SCARD_SHARE_SHARED, SCARD_PROTOCOL_T1 | SCARD_PROTOCOL_T0,
	                  &p->h, &p->proto);
	if (rv != SCARD_S_SUCCESS)
		return pcsc_err(rv, name, "connecting to the card", 0);
	p->have_h = 1;
	return 0;
}

int
jpki_reader_open_pcsc(const char *name, jpki_reader_t **out)
{
	struct pcsc *p = NULL;
	char **names = NULL;
	const char *chosen = NULL;
	size_t i, n = 0;
	LONG rv;
	int r = JPKI_ERR_INTERNAL, busy = 0;

	if (out != NULL)
		*out = NULL;
	if (out == NULL || (name != NULL && *name == '\0')) {
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		r = JPKI_ERR_NOMEM;
		goto out;
	}
	rv = SCardEstablishContext(SCARD_SCOPE_SYSTEM, NULL, NULL, &p->ctx);
	if (rv != SCARD_S_SUCCESS) {
		r = pcsc_err(rv, NULL, "connecting to pcscd", 0);
		goto out;
	}
	p->have_ctx = 1;
	if ((r = list_names(p->ctx, &names, &n)) != 0)
		goto out;
	if (name != NULL) {
		/* The exact name, else the first reader whose name starts with it
		 * ("Virtual PCD" for "Virtual PCD 00 00"). */
		for (i = 0; i < n && chosen == NULL; i++)
			if (strcmp(names[i], name) == 0)
				chosen = names[i];
		for (i = 0; i < n && chosen == NULL; i++)
			if (strncmp(names[i], name, strlen(name)) == 0)
				chosen = names[i];
		if (chosen == NULL) {
			jpki_set_detail("no reader named '%s' (%zu reader%s: first '%s')", name, n,
			                n == 1 ? "" : "s", names[0]);
			r = JPKI_ERR_NO_READER;
			goto out;
		}
		if ((r = connect_one(p, chosen)) != 0)
			goto out;
	} else {
		/* The first reader that holds a card. */
		for (i = 0; i < n && chosen == NULL; i++) {
			r = connect_one(p, names[i]);
			if (r == 0)
				chosen = names[i];
			else if (r == JPKI_ERR_BUSY)
				busy = 1;
			else if (r != JPKI_ERR_NO_CARD && r != JPKI_ERR_CARD)
				goto out;
		}
		if (chosen == NULL) {
			if (busy) {
				r = JPKI_ERR_BUSY;
				jpki_set_detail("the card is held exclusively by another program");
			} else {
				r = JPKI_ERR_NO_CARD;
				if (n == 1)
					jpki_set_detail("reader '%s' holds no card", names[0]);
				else
					jpki_set_detail("none of the %zu readers holds a card", n);
			}
			goto out;
		}
	}
	if ((r = jpki_reader_new(&pcsc_ops, p, chosen, out)) != 0)
		goto out;
	p = NULL;
	r = 0;
out:
	pcsc_free(p);
	jpki_reader_list_free(names);
	return r;
}
