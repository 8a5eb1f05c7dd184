/*
 * What every program shares: one clear error line, distinct exit statuses,
 * era + ISO date display.
 *
 * Exit statuses: 0 success; 1 a failure with no finer class; 2 usage error;
 * otherwise 10 + |JPKI_ERR_*| (for example 15 "already exists", 23 "a
 * signature certificate cannot be released"), listed in the man pages.
 */
#ifndef JPKI_CLI_H
#define JPKI_CLI_H

#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_EXIT_USAGE 2

/* The exit status for a library error. */
int jpki_cli_exit_code(int err);
/* Print "prog: <text of err>[: <detail>]" on stderr and return the exit status. */
int jpki_cli_fail(const char *prog, int err);
/* Print "prog: <message>" (printf-style) on stderr and return JPKI_EXIT_USAGE. */
int jpki_cli_usage_error(const char *prog, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "令和6年1月1日 (2024-01-01)" for the JST day of t, or "2024-01-01T14:59:59Z"-
 * style ISO with the era day: "2029-06-15T14:59:59Z (令和11年6月15日)". */
void jpki_cli_format_time(time_t t, char *out, size_t outlen);
/* ISO 8601 UTC "YYYY-MM-DDTHH:MM:SSZ". */
void jpki_cli_iso_time(time_t t, char *out, size_t outlen);
/* Append s to out as a JSON string literal with escapes (out >= 2*strlen+3). */
void jpki_cli_json_str(const char *s, char *out, size_t outlen);

#ifdef __cplusplus
}
#endif
#endif
