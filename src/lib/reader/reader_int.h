/*
 * What every transport shares (private to src/lib/reader/): a reader is a
 * name and an ops table over the transport's own state.  Unit tests include
 * this to make fake transports (a card without the JPKI AP, a card that
 * answers garbage) without pcscd.
 */
#ifndef JPKI_READER_INT_H
#define JPKI_READER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "jpki/reader.h"

struct jpki_reader_ops {
	/* Send cmd; write data + SW1 SW2 into rsp (rsp_max >= 2, checked by the
	 * caller) and set *rsp_len.  0 or a negative JPKI_ERR_*. */
	int (*transmit)(void *impl, const char *name, const uint8_t *cmd, size_t cmd_len,
	                uint8_t *rsp, size_t rsp_max, size_t *rsp_len);
	/* Warm reset: the card's security state is cleared. */
	int (*reset)(void *impl, const char *name);
	/* Release impl (accepts NULL). */
	void (*close)(void *impl);
};

struct jpki_reader {
	const struct jpki_reader_ops *ops;
	void *impl;
	char *name;
};

/*
 * A reader over ops.  name is copied; impl is owned by the reader from the
 * moment this returns 0 (ops->close releases it with the reader).  On failure
 * impl is not touched: the caller still owns it.
 */
int jpki_reader_new(const struct jpki_reader_ops *ops, void *impl, const char *name,
                    jpki_reader_t **out);

#endif
