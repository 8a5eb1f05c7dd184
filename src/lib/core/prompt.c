/* Asking a person (jpki/prompt.h). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include <openssl/crypto.h>

#include "jpki/error.h"
#include "jpki/prompt.h"

/* One line from fd into out, without its newline. */
static int
read_line(int fd, char *out, size_t outlen)
{
	size_t n = 0;
	char c;
	ssize_t k;
	int r = JPKI_ERR_INTERNAL;

	for (;;) {
		k = read(fd, &c, 1);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = JPKI_ERR_IO;
			goto out;
		}
		if (k == 0) {
			if (n == 0) {
				jpki_set_detail("end of input where a secret was expected");
				r = JPKI_ERR_TRUNCATED;
				goto out;
			}
			break;
		}
		if (c == '\n')
			break;
		if (n + 1 >= outlen) {
			jpki_set_detail("the answer is longer than %zu characters", outlen - 1);
			r = JPKI_ERR_TOO_LARGE;
			goto out;
		}
		out[n++] = c;
	}
	if (n > 0 && out[n - 1] == '\r')
		n--;
	out[n] = '\0';
	r = 0;
out:
	if (r != 0)
		OPENSSL_cleanse(out, outlen);
	return r;
}

int
jpki_prompt_secret(const char *prompt, int from_stdin, char *out, size_t outlen)
{
	struct termios old, quiet;
	int fd, r, restore = 0;

	if (out == NULL || outlen < 2)
		return JPKI_ERR_INVALID_ARG;
	out[0] = '\0';
	if (from_stdin)
		return read_line(STDIN_FILENO, out, outlen);
	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		jpki_set_detail("no terminal to ask for it: give it on standard input "
		                "(the --*-stdin option)");
		return JPKI_ERR_INVALID_ARG;
	}
	if (tcgetattr(fd, &old) == 0) {
		quiet = old;
		quiet.c_lflag &= ~(tcflag_t)(ECHO | ECHONL);
		quiet.c_lflag |= ICANON;
		if (tcsetattr(fd, TCSAFLUSH, &quiet) == 0)
			restore = 1;
	}
	if (prompt != NULL)
		(void)!write(fd, prompt, strlen(prompt));
	r = read_line(fd, out, outlen);
	if (restore)
		(void)tcsetattr(fd, TCSAFLUSH, &old);
	(void)!write(fd, "\n", 1);
	close(fd);
	return r;
}

int
jpki_prompt_new_secret(const char *prompt, const char *again, int from_stdin, char *out,
                       size_t outlen)
{
	char second[JPKI_SECRET_MAX + 1];
	int r;

	if ((r = jpki_prompt_secret(prompt, from_stdin, out, outlen)) != 0 || from_stdin)
		return r;
	if ((r = jpki_prompt_secret(again, 0, second, sizeof(second))) != 0)
		goto out;
	if (strcmp(out, second) != 0) {
		jpki_set_detail("the two entries differ");
		r = JPKI_ERR_INVALID_ARG;
		goto out;
	}
	r = 0;
out:
	if (r != 0)
		OPENSSL_cleanse(out, outlen);
	OPENSSL_cleanse(second, sizeof(second));
	return r;
}

int
jpki_prompt_yes(const char *question)
{
	char ans[16];
	int fd, r;

	if ((fd = open("/dev/tty", O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
		jpki_set_detail("no terminal to confirm on: add --yes");
		return JPKI_ERR_INVALID_ARG;
	}
	(void)!write(fd, question, strlen(question));
	r = read_line(fd, ans, sizeof(ans));
	close(fd);
	if (r != 0)
		return 0;
	return ans[0] == 'y' || ans[0] == 'Y' || strcmp(ans, "はい") == 0;
}
