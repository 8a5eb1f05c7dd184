/*
 * libFuzzer target: the registry's document bodies (src/lib/registry/doc.c),
 * which come back from the database: every field reader on any bytes, and a
 * body written by the writer must read back the same values.
 *
 *   CC=clang bash scripts/build.sh build-fuzz -DJPKI_FUZZ=ON
 *   build-fuzz/fuzz_registry_doc fuzz/corpus/fuzz_registry_doc
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/store.h"
#include "registry/doc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {"id", "name", "dob", "sex", "state", "j_step", "x"};
	char *body, *out = NULL, small[8], big[1024], back[1024];
	int64_t v;
	jpki_date_t d;
	size_t i;
	docw_t w;

	if (size > JPKI_DOC_BODY_MAX)
		return 0;
	if ((body = malloc(size + 1)) == NULL)
		return 0;
	memcpy(body, data, size);
	body[size] = '\0';
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		(void)doc_str(body, keys[i], small, sizeof(small));
		(void)doc_str(body, keys[i], big, sizeof(big));
		(void)doc_int(body, keys[i], &v);
		(void)doc_date(body, keys[i], &d);
	}
	/* Round trip: any value (up to its NUL) written and read back is itself. */
	docw_init(&w);
	memcpy(big, body, size < sizeof(big) - 1 ? size : sizeof(big) - 1);
	big[size < sizeof(big) - 1 ? size : sizeof(big) - 1] = '\0';
	docw_str(&w, "a", "first");
	docw_str(&w, "name", big);
	docw_int(&w, "n", (int64_t)size);
	if (docw_finish(&w, &out) == 0) {
		if (doc_str(out, "name", back, sizeof(back)) != 0 || strcmp(back, big) != 0)
			abort();
		if (doc_int(out, "n", &v) != 0 || v != (int64_t)size)
			abort();
	}
	docw_free(&w);
	free(out);
	free(body);
	return 0;
}
