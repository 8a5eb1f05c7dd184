/*
 * The online window's JSON API (docs/online-window.md): validity check,
 * online revocation, the suspension line and the office API.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jpki/error.h"
#include "server/server_int.h"

struct api_svc {
	int unused;
};

int
api_path(const char *path)
{
	return strncmp(path, "/window/", 8) == 0 || strncmp(path, "/line/", 6) == 0 ||
	       strncmp(path, "/office/", 8) == 0;
}

int
api_svc_new(const jpki_server_opts_t *o, struct api_svc **out)
{
	(void)o;
	if ((*out = calloc(1, sizeof(**out))) == NULL)
		return JPKI_ERR_NOMEM;
	return 0;
}

void
api_svc_free(struct api_svc *a)
{
	free(a);
}

int
api_handle(struct api_svc *a, const struct api_req *rq, struct api_resp *out)
{
	(void)a;
	(void)rq;
	memset(out, 0, sizeof(*out));
	out->status = 404;
	if ((out->body = strdup("{\"error\":\"not found\"}\n")) == NULL)
		return JPKI_ERR_NOMEM;
	out->len = strlen(out->body);
	return 0;
}
