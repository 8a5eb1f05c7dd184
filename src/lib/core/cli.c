/* Shared program conventions (habit 7: only programs exit). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "jpki/cli.h"
#include "jpki/date.h"
#include "jpki/error.h"

int
jpki_cli_exit_code(int err)
{
	if (err == 0)
		return 0;
	if (err < 0 && err > JPKI_ERR__LAST)
		return 10 - err;
	return 1;
}

int
jpki_cli_fail(const char *prog, int err)
{
	const char *d = jpki_detail();

	if (d != NULL && *d != '\0')
		fprintf(stderr, "%s: %s: %s\n", prog, jpki_strerror(err), d);
	else
		fprintf(stderr, "%s: %s\n", prog, jpki_strerror(err));
	return jpki_cli_exit_code(err);
}

int
jpki_cli_usage_error(const char *prog, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try '%s --help')\n", prog);
	return JPKI_EXIT_USAGE;
}

void
jpki_cli_iso_time(time_t t, char *out, size_t outlen)
{
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0) {
		if (outlen)
			out[0] = '\0';
	}
}

void
jpki_cli_format_time(time_t t, char *out, size_t outlen)
{
	jpki_date_t d;
	char iso[32], era[64];

	jpki_cli_iso_time(t, iso, sizeof(iso));
	jpki_date_from_time_jst(t, &d);
	if (jpki_era_format(&d, era, sizeof(era)) != 0)
		snprintf(out, outlen, "%s", iso);
	else
		snprintf(out, outlen, "%s (%s)", iso, era);
}

void
jpki_cli_json_str(const char *s, char *out, size_t outlen)
{
	size_t o = 0;

	if (outlen < 3) {
		if (outlen)
			out[0] = '\0';
		return;
	}
	out[o++] = '"';
	for (; *s && o + 8 < outlen; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, outlen - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o++] = '"';
	out[o] = '\0';
}
