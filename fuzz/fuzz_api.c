/*
 * libFuzzer target: the online window's JSON API (src/lib/server/api.c) on
 * any request body, as jpkid hands it over: the validity check (a
 * certificate, DER or PEM), an online revocation (JSON, base64, the signed
 * request inside, CMS), the suspension line and the office API without
 * valid credentials, and the record decoders of the office API (wire.h).
 * A CA directory is made once, in a temporary directory.
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_api fuzz/corpus/fuzz_api
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "jpki/ca.h"
#include "jpki/server.h"
#include "registry/wire.h"
#include "server/server_int.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct api_svc *svc;
static char dir[] = "/tmp/jpki-fuzz-api-XXXXXX";

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	jpki_server_opts_t o;
	jpki_ca_init_opts_t io;
	static char ca[sizeof(dir) + 8];

	(void)argc;
	(void)argv;
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(ca, sizeof(ca), "%s/ca", dir);
	memset(&io, 0, sizeof(io));
	io.test = 1;
	if (jpki_ca_init(ca, &io) != 0)
		abort();
	jpki_server_opts_init(&o);
	o.ca_dir = ca;
	if (api_svc_new(&o, &svc) != 0)
		abort();
	return 0;
}

static void
decoders(const uint8_t *data, size_t size)
{
	json_t *j = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
	jpki_resident_t r;
	jpki_card_rec_t c;
	jpki_act_t a;
	jpki_photo_id_t pid;
	jpki_issue_opts_t io;
	jpki_date_t exp;
	jpki_pins_t pins;
	json_t *back;

	if (j == NULL)
		return;
	/* What decodes encodes, and decodes again to the same record. */
	if (wire_resident_get(j, &r) == 0 && (back = wire_resident(&r)) != NULL) {
		jpki_resident_t r2;
		if (wire_resident_get(back, &r2) != 0 || memcmp(&r, &r2, sizeof(r)) != 0)
			abort();
		json_decref(back);
	}
	if (wire_card_get(j, &c) == 0 && (back = wire_card(&c)) != NULL) {
		jpki_card_rec_t c2;
		if (wire_card_get(back, &c2) != 0)
			abort();
		json_decref(back);
	}
	if (wire_act_get(j, &a) == 0 && (back = wire_act(&a)) != NULL) {
		jpki_act_t a2;
		if (wire_act_get(back, &a2) != 0)
			abort();
		json_decref(back);
	}
	(void)wire_pid_get(j, &pid);
	(void)wire_issue_opts_get(j, &io, &exp);
	(void)wire_pins_get(j, &pins);
	json_decref(j);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const paths[] = {"/window/validity", "/window/revoke", "/line/suspend",
	                                    "/office/call", "/office/apdu", "/office/nothing",
	                                    "/window/other"};
	struct api_req rq;
	struct api_resp out;

	if (size < 1)
		return 0;
	if (data[0] >= 0xf0) {
		decoders(data + 1, size - 1);
		return 0;
	}
	memset(&rq, 0, sizeof(rq));
	rq.method = data[0] & 0x80 ? "GET" : "POST";
	rq.path = paths[(data[0] & 0x7f) % (sizeof(paths) / sizeof(paths[0]))];
	/* A made-up token: the office calls are refused, as they must be. */
	rq.authorization = (data[0] & 0x40) ? "Bearer 00000000000000000000000000000000000000000000"
	                                      "00000000000000000000" : NULL;
	rq.body = size > 1 ? data + 1 : NULL;
	rq.body_len = size - 1;
	rq.peer = "fuzz";
	memset(&out, 0, sizeof(out));
	if (api_handle(svc, &rq, &out) != 0)
		abort();
	if (out.status < 200 || out.status > 599 || out.body == NULL || out.len != strlen(out.body))
		abort();
	free(out.body);
	return 0;
}
