/*
 * Asking a person: secrets without echo on the terminal, yes/no questions,
 * and lines from standard input for scripts (--pin-stdin and the like).
 * Secrets are never taken from the command line (they would show in ps).
 */
#ifndef JPKI_PROMPT_H
#define JPKI_PROMPT_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define JPKI_SECRET_MAX 128

/*
 * Read a secret into out (outlen bytes, NUL-terminated, the newline dropped).
 * from_stdin: the next line of standard input (for scripts); otherwise the
 * prompt goes to /dev/tty and the answer is read there with echo off.
 * JPKI_ERR_INVALID_ARG when there is no terminal (detail says to use the
 * stdin option), JPKI_ERR_TOO_LARGE for a line over outlen - 1 bytes,
 * JPKI_ERR_TRUNCATED at end of input.  The caller wipes out.
 */
int jpki_prompt_secret(const char *prompt, int from_stdin, char *out, size_t outlen);
/* Ask twice on the terminal and require the same answer (from_stdin: once). */
int jpki_prompt_new_secret(const char *prompt, const char *again, int from_stdin, char *out,
                           size_t outlen);
/* A yes/no question on /dev/tty: 1 for yes, 0 for anything else;
 * JPKI_ERR_INVALID_ARG when there is no terminal (use --yes). */
int jpki_prompt_yes(const char *question);

#ifdef __cplusplus
}
#endif
#endif
