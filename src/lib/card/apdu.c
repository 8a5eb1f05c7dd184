/* Strict short-APDU codec (ISO 7816-4 §5.1; spec §3: the JPKI card speaks short APDUs). */
#include <string.h>

#include "card/apdu.h"

int
jpki_apdu_parse(const uint8_t *cmd, size_t len, jpki_apdu_t *a)
{
	size_t p3;

	memset(a, 0, sizeof(*a));
	if (cmd == NULL || len < 4)
		return SW_WRONG_LENGTH;
	a->cla = cmd[0];
	a->ins = cmd[1];
	a->p1 = cmd[2];
	a->p2 = cmd[3];
	if (len == 4) {
		a->iso_case = 1;
		return 0;
	}
	p3 = cmd[4];
	if (len == 5) {
		/* Case 2 short: P3 is Le, 00 meaning 256. */
		a->iso_case = 2;
		a->le = p3 == 0 ? 256 : p3;
		return 0;
	}
	/* More than 5 bytes with P3 = 00 can only be an extended Lc or Le. */
	if (p3 == 0)
		return SW_WRONG_LENGTH;
	if (len == 5 + p3) {
		a->iso_case = 3;
	} else if (len == 6 + p3) {
		a->iso_case = 4;
		a->le = cmd[len - 1] == 0 ? 256 : cmd[len - 1];
	} else {
		return SW_WRONG_LENGTH;
	}
	a->data = cmd + 5;
	a->lc = p3;
	return 0;
}

size_t
jpki_apdu_sw(uint8_t *rsp, size_t off, unsigned sw)
{
	rsp[off] = (uint8_t)(sw >> 8);
	rsp[off + 1] = (uint8_t)sw;
	return off + 2;
}
