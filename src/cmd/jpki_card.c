/*
 * jpki-card: a virtual Individual Number Card for tests and demos.
 *
 *   run          plug the card (a card file) into pcscd through vpcd, so that
 *                every PC/SC program (OpenSC, our own) sees it in a reader
 *   new          make a blank card for an issuer key
 *   personalize  keys, certificates from a CA directory, PINs: a ready card
 *                without the municipal-window software
 *   info         what a card holds (card file or PC/SC reader)
 *   readers      the PC/SC readers
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "jpki/audit.h"
#include "jpki/ca.h"
#include "jpki/card.h"
#include "jpki/cli.h"
#include "jpki/date.h"
#include "jpki/error.h"
#include "jpki/file.h"
#include "jpki/reader.h"
#include "jpki/token.h"
#include "jpki/x509.h"

static const char *prog = "jpki-card";

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT "35963"
#define CONNECT_TIMEOUT_MS 3000
#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 1000
#define RETRIES_DEFAULT 60          /* about a minute of failed connects */
#define PIN_BUF 64

static void
usage(FILE *f)
{
	fprintf(f,
"Usage: jpki-card COMMAND [OPTIONS]\n"
"A virtual Individual Number Card (JPKI applet, state kept in a card file) for\n"
"tests and demos.\n"
"\n"
"Commands:\n"
"  run CARDFILE [--host H] [--port P] [--retry] [--remove-after N] [-v]\n"
"        plug the card into pcscd through the vpcd virtual reader (default\n"
"        127.0.0.1:35963); SIGUSR1 removes it, SIGUSR2 inserts it again,\n"
"        SIGTERM/SIGINT end it\n"
"  new CARDFILE --issuer-key FILE [--2004]\n"
"        create a blank card for the issuer's ECDSA P-256 key (never overwrites)\n"
"  personalize CARDFILE --issuer-key FILE --ca-dir DIR --dob YYYY-MM-DD\n"
"        --auth-pin NNNN --sign-pin PASSWORD --name NAME --sex 1|2|9\n"
"        --address ADDR [--no-sign] [--card-expiry DATE] [--out DIR]\n"
"        generate both key pairs on the card, have the CAs of DIR issue the\n"
"        certificates, write them and the CA certificates, set both PINs\n"
"  info CARDFILE | --pcsc | --reader NAME  [--sign-pin P] [--issuer-key FILE]\n"
"        the token label, which EFs hold data, PIN tries left\n"
"  readers\n"
"        the PC/SC readers\n"
"\n"
"Options:\n"
"  -h, --help      this help (also after a command);  -V, --version\n"
"\n"
"Exit status: 0 success, 2 usage error, 10+N for library error N (see jpki-card(1)).\n");
}

static void
usage_cmd(const char *cmd)
{
	if (!strcmp(cmd, "run"))
		printf(
"Usage: jpki-card run CARDFILE [--host H] [--port P] [--retry] [--remove-after N] [-v]\n"
"Connect to vpcd as the card (2-byte length + payload frames) and answer its\n"
"APDUs with the applet until SIGTERM or SIGINT.\n"
"  --host H           where vpcd listens (default 127.0.0.1)\n"
"  --port P           vpcd's port: its CHANNELID (default 35963)\n"
"  --retry            reconnect forever when pcscd/vpcd goes away (default: give\n"
"                     up after %d failed attempts, about a minute)\n"
"  --remove-after N   remove the card after answering N APDUs (the next command\n"
"                     finds it gone); SIGUSR2 inserts it again\n"
"  -v, --verbose      log APDUs on stderr (PIN data masked)\n"
"Signals: SIGUSR1 removes the card (disconnects from vpcd), SIGUSR2 inserts it\n"
"(reconnects, reloading the card file), SIGTERM/SIGINT end the program.\n",
		       RETRIES_DEFAULT);
	else if (!strcmp(cmd, "new"))
		printf(
"Usage: jpki-card new CARDFILE --issuer-key FILE [--2004]\n"
"Create a blank card file (0600, never overwrites) that accepts issuer\n"
"operations signed with FILE's ECDSA P-256 key (private or public PEM; make one\n"
"with: openssl ecparam -name prime256v1 -genkey -out issuer.pem).\n"
"  --2004   a Basic Resident Registration card (label JPKIAPICCTOKEN)\n");
	else if (!strcmp(cmd, "personalize"))
		printf(
"Usage: jpki-card personalize CARDFILE --issuer-key FILE --ca-dir DIR\n"
"       --dob YYYY-MM-DD --auth-pin NNNN --sign-pin PASSWORD --name NAME\n"
"       --sex 1|2|9 --address ADDR [--no-sign] [--card-expiry DATE] [--out DIR]\n"
"Through the in-process reader and the issuer operations: generate the key\n"
"pairs on the card, have the CAs of DIR (jpki-ca init) issue the signature and\n"
"authentication certificates, write them and both CA certificates, set the PINs.\n"
"  --no-sign        no signature key or certificate (L2: declined); --name,\n"
"                   --sex, --address are then not needed\n"
"  --card-expiry D  the card's last valid day (bounds the validity, L4)\n"
"  --out DIR        also write the issued certificates as auth.pem, sign.pem,\n"
"                   auth-ca.pem, sign-ca.pem\n"
"A 2004-era card (new --2004) gets only the signature key and certificate.\n"
"Prints one line per certificate: kind, serial, CN, notAfter.\n");
	else if (!strcmp(cmd, "info"))
		printf(
"Usage: jpki-card info CARDFILE | --pcsc | --reader NAME [--sign-pin P] [--issuer-key FILE]\n"
"Show the token label, which certificate EFs hold data and the PIN tries left\n"
"(without spending any), from a card file or a card in a PC/SC reader.\n"
"  --pcsc           the first PC/SC reader that holds a card\n"
"  --reader NAME    that reader (exact name or its beginning)\n"
"  --sign-pin P     verify the signing password to read the signature certificate\n"
"                   (a wrong one spends a try)\n"
"  --issuer-key F   also show which key pairs the card holds (issuer operation)\n");
	else if (!strcmp(cmd, "readers"))
		printf("Usage: jpki-card readers\nList the PC/SC readers, one per line.\n");
	else
		usage(stdout);
}

enum {
	O_HOST = 256, O_PORT, O_RETRY, O_REMOVE_AFTER, O_ISSUER_KEY, O_2004, O_CA_DIR, O_NAME,
	O_DOB, O_SEX, O_ADDRESS, O_SIGN_PIN, O_AUTH_PIN, O_NO_SIGN, O_CARD_EXPIRY, O_OUT,
	O_PCSC, O_READER
};

static const struct option longopts[] = {
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, 'V'},
	{"verbose", no_argument, NULL, 'v'},
	{"host", required_argument, NULL, O_HOST},
	{"port", required_argument, NULL, O_PORT},
	{"retry", no_argument, NULL, O_RETRY},
	{"remove-after", required_argument, NULL, O_REMOVE_AFTER},
	{"issuer-key", required_argument, NULL, O_ISSUER_KEY},
	{"2004", no_argument, NULL, O_2004},
	{"ca-dir", required_argument, NULL, O_CA_DIR},
	{"name", required_argument, NULL, O_NAME},
	{"dob", required_argument, NULL, O_DOB},
	{"sex", required_argument, NULL, O_SEX},
	{"address", required_argument, NULL, O_ADDRESS},
	{"sign-pin", required_argument, NULL, O_SIGN_PIN},
	{"auth-pin", required_argument, NULL, O_AUTH_PIN},
	{"no-sign", no_argument, NULL, O_NO_SIGN},
	{"card-expiry", required_argument, NULL, O_CARD_EXPIRY},
	{"out", required_argument, NULL, O_OUT},
	{"pcsc", no_argument, NULL, O_PCSC},
	{"reader", required_argument, NULL, O_READER},
	{NULL, 0, NULL, 0},
};

struct args {
	const char *cardfile, *host, *port, *issuer_key, *ca_dir, *name, *dob, *sex, *address;
	const char *card_expiry, *out, *reader, *remove_after;
	char sign_pin[PIN_BUF], auth_pin[PIN_BUF];
	int have_sign_pin, have_auth_pin;
	int retry, verbose, y2004, no_sign, pcsc;
};

/* Take a PIN out of argv: copied, and the argument wiped so that ps shows no PIN. */
static int
take_pin(char *arg, char *buf, int *have)
{
	size_t n = strlen(arg);

	if (n >= PIN_BUF) {
		OPENSSL_cleanse(arg, n);
		return -1;
	}
	memcpy(buf, arg, n + 1);
	OPENSSL_cleanse(arg, n);
	*have = 1;
	return 0;
}

static int
parse_long(const char *s, long min, long max, long *out)
{
	char *end;
	long v;

	if (s == NULL || *s == '\0')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* The issuer's key: a private key (for issuer operations) or, when
 * want_private is 0, a public one will do. */
static int
load_issuer_key(const char *path, int want_private, EVP_PKEY **out)
{
	EVP_PKEY *k = NULL;
	BIO *b = NULL;
	char group[64];
	size_t glen = 0;
	int r = JPKI_ERR_INTERNAL;

	*out = NULL;
	if ((b = BIO_new_file(path, "r")) == NULL) {
		ERR_clear_error();
		jpki_set_detail("%s: %s", path, strerror(errno ? errno : ENOENT));
		r = errno == ENOENT ? JPKI_ERR_NOT_FOUND : JPKI_ERR_IO;
		goto out;
	}
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	if (k == NULL && !want_private) {
		(void)BIO_reset(b);
		k = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
	}
	ERR_clear_error();
	if (k == NULL) {
		jpki_set_detail("%s: not a%s PEM key", path, want_private ? " private" : "");
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	if (!EVP_PKEY_is_a(k, "EC") ||
	    EVP_PKEY_get_utf8_string_param(k, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
	                                   &glen) != 1 ||
	    (strcmp(group, "prime256v1") != 0 && strcmp(group, "P-256") != 0)) {
		ERR_clear_error();
		jpki_set_detail("%s: the issuer key must be ECDSA P-256 (prime256v1)", path);
		r = JPKI_ERR_FORMAT;
		goto out;
	}
	*out = k;
	k = NULL;
	r = 0;
out:
	EVP_PKEY_free(k);
	BIO_free(b);
	return r;
}

/* jpki_card_load() with the file named when the library left no detail. */
static int
load_card(const char *path, jpki_card_t **card)
{
	int r;

	jpki_clear_detail();
	if ((r = jpki_card_load(path, card)) != 0 && *jpki_detail() == '\0')
		jpki_set_detail("card file %s", path);
	return r;
}

/* ---- run: the card side of vpcd ------------------------------------------------ */

static volatile sig_atomic_t sig_term, sig_remove, sig_insert;
static sigset_t wait_mask;  /* the mask while waiting: our signals let through */

static void
on_signal(int sig)
{
	if (sig == SIGTERM || sig == SIGINT)
		sig_term = 1;
	else if (sig == SIGUSR1)
		sig_remove = 1;
	else if (sig == SIGUSR2)
		sig_insert = 1;
}

/* Signals are blocked except inside ppoll(), so none is lost between a check
 * of the flags and the wait. */
static int
setup_signals(void)
{
	struct sigaction sa;
	sigset_t block;
	int sigs[] = {SIGTERM, SIGINT, SIGUSR1, SIGUSR2};
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigemptyset(&block);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++) {
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return -1;
		sigaddset(&block, sigs[i]);
	}
	signal(SIGPIPE, SIG_IGN);
	if (sigprocmask(SIG_BLOCK, &block, &wait_mask) != 0)
		return -1;
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigdelset(&wait_mask, sigs[i]);
	return 0;
}

enum { W_READY = 1, W_TIMEOUT = 0, W_SIGNAL = -1, W_ERROR = -2 };

/* Wait for fd (or just time when fd < 0); ms < 0 waits without limit. */
static int
wait_for(int fd, short events, int ms)
{
	struct pollfd pfd = {fd, events, 0};
	struct timespec ts, *tsp = NULL;
	int n;

	if (ms >= 0) {
		ts.tv_sec = ms / 1000;
		ts.tv_nsec = (long)(ms % 1000) * 1000000L;
		tsp = &ts;
	}
	n = ppoll(fd >= 0 ? &pfd : NULL, fd >= 0 ? 1 : 0, tsp, &wait_mask);
	if (n < 0)
		return errno == EINTR ? W_SIGNAL : W_ERROR;
	return n == 0 ? W_TIMEOUT : W_READY;
}

static void
__attribute__((format(printf, 1, 2)))
logmsg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Connect to host:port within CONNECT_TIMEOUT_MS; -1 on failure (errno text in why). */
static int
vpcd_connect(const char *host, const char *port, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	socklen_t elen;
	int fd = -1, rc, err = 0, w, one = 1;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &res)) != 0) {
		snprintf(why, whylen, "%s", gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai != NULL; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
		                 ai->ai_protocol)) < 0) {
			err = errno;
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0)
			break;
		err = errno;
		if (err == EINPROGRESS) {
			w = wait_for(fd, POLLOUT, CONNECT_TIMEOUT_MS);
			elen = sizeof(err);
			if (w == W_READY && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 &&
			    err == 0)
				break;
			if (w == W_TIMEOUT)
				err = ETIMEDOUT;
			else if (w == W_SIGNAL)
				err = EINTR;
		}
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		snprintf(why, whylen, "%s", strerror(err ? err : ECONNREFUSED));
		return -1;
	}
	/* Back to blocking for writes; reads always wait in ppoll first. */
	(void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

enum { S_EOF, S_ERROR, S_TERM, S_REMOVE, S_CARD_DEAD };

/* Read exactly n bytes, waiting in ppoll (signals interrupt). */
static int
read_full(int fd, uint8_t *buf, size_t n)
{
	size_t got = 0;
	ssize_t k;
	int w, one = 1;

	while (got < n) {
		w = wait_for(fd, POLLIN, -1);
		if (w == W_SIGNAL) {
			if (sig_term)
				return S_TERM;
			if (sig_remove)
				return S_REMOVE;
			sig_insert = 0;   /* already inserted */
			continue;
		}
		if (w != W_READY)
			return S_ERROR;
		/*
		 * vpcd writes a frame's length and its payload separately; with Nagle
		 * on its side and delayed ACKs on ours every APDU would wait ~40 ms
		 * for the second half.  Quick ACKs (reset by the kernel, so set
		 * before every read) release it at once.
		 */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
		k = recv(fd, buf + got, n - got, 0);
		if (k == 0)
			return S_EOF;
		if (k < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return S_ERROR;
		}
		got += (size_t)k;
	}
	return -1;   /* all read */
}

static int
write_frame(int fd, const uint8_t *p, size_t n)
{
	uint8_t hdr[2] = {(uint8_t)(n >> 8), (uint8_t)n};
	struct iovec iov[2] = {{hdr, 2}, {(void *)p, n}};
	struct msghdr mh;
	size_t total = 2 + n, sent = 0;
	ssize_t k;

	while (sent < total) {
		memset(&mh, 0, sizeof(mh));
		if (sent < 2) {
			iov[0].iov_base = hdr + sent;
			iov[0].iov_len = 2 - sent;
			mh.msg_iov = iov;
			mh.msg_iovlen = 2;
		} else {
			iov[1].iov_base = (void *)(p + (sent - 2));
			iov[1].iov_len = n - (sent - 2);
			mh.msg_iov = &iov[1];
			mh.msg_iovlen = 1;
		}
		k = sendmsg(fd, &mh, MSG_NOSIGNAL);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		sent += (size_t)k;
	}
	return 0;
}

static void
log_apdu(const char *dir, const uint8_t *p, size_t n)
{
	size_t i, show = n;

	/* VERIFY, CHANGE REFERENCE DATA, RESET RETRY COUNTER carry PINs: header only. */
	if (dir[0] == '>' && n > 5 && (p[1] == 0x20 || p[1] == 0x24 || p[1] == 0x2C))
		show = 5;
	fprintf(stderr, "%s: %s ", prog, dir);
	for (i = 0; i < show; i++)
		fprintf(stderr, "%02X", p[i]);
	if (show < n)
		fprintf(stderr, " <%zu bytes hidden>", n - show);
	fputc('\n', stderr);
}

/* Answer vpcd until the connection ends, a signal, or the card is to be removed. */
static int
serve(int fd, jpki_card_t *card, const struct args *a, long *apdus_left, int *card_err)
{
	static uint8_t frame[65536];
	uint8_t rsp[JPKI_RAPDU_MAX];
	uint8_t hdr[2];
	size_t len, rlen;
	int s, r;

	for (;;) {
		if ((s = read_full(fd, hdr, 2)) >= 0)
			return s;
		len = ((size_t)hdr[0] << 8) | hdr[1];
		if (len > 0 && (s = read_full(fd, frame, len)) >= 0)
			return s;
		if (len == 0)
			continue;
		if (len == 1) {
			switch (frame[0]) {
			case 0: /* power off */
			case 1: /* power on */
			case 2: /* reset */
				jpki_card_reset(card);
				if (a->verbose)
					logmsg("%s", frame[0] == 0 ? "power off" :
					       frame[0] == 1 ? "power on" : "reset");
				break;
			case 4: /* ATR */
				if (write_frame(fd, jpki_card_atr, JPKI_CARD_ATR_LEN) != 0)
					return S_ERROR;
				break;
			default:
				if (a->verbose)
					logmsg("unknown control byte %u ignored", frame[0]);
				break;
			}
			continue;
		}
		if (a->verbose)
			log_apdu(">", frame, len);
		rlen = 0;
		if ((r = jpki_card_apdu(card, frame, len, rsp, &rlen)) != 0) {
			/* The card file could not be written: a card that lost power. */
			*card_err = r;
			OPENSSL_cleanse(frame, len);
			return S_CARD_DEAD;
		}
		OPENSSL_cleanse(frame, len);
		if (a->verbose)
			log_apdu("<", rsp, rlen);
		if (write_frame(fd, rsp, rlen) != 0) {
			OPENSSL_cleanse(rsp, sizeof(rsp));
			return S_ERROR;
		}
		OPENSSL_cleanse(rsp, sizeof(rsp));
		if (*apdus_left > 0 && --*apdus_left == 0)
			return S_REMOVE;
	}
}

static int
cmd_run(struct args *a)
{
	jpki_card_t *card = NULL;
	const char *host = a->host ? a->host : DEFAULT_HOST;
	const char *port = a->port ? a->port : DEFAULT_PORT;
	char why[256];
	long remove_after = 0, apdus_left = 0, portnum;
	int fd = -1, removed = 0, failures = 0, backoff = BACKOFF_MIN_MS, s, r, rc = 1;
	int card_err = 0;

	if (a->cardfile == NULL)
		return jpki_cli_usage_error(prog, "run: CARDFILE is required");
	if (parse_long(port, 1, 65535, &portnum) != 0)
		return jpki_cli_usage_error(prog, "--port: '%s' is not a TCP port", port);
	if (a->remove_after != NULL && parse_long(a->remove_after, 1, LONG_MAX, &remove_after) != 0)
		return jpki_cli_usage_error(prog, "--remove-after: '%s' is not a positive number",
		                            a->remove_after);
	if (setup_signals() != 0) {
		jpki_set_detail("installing signal handlers: %s", strerror(errno));
		return jpki_cli_fail(prog, JPKI_ERR_INTERNAL);
	}
	/* Load once up front so that a bad card file fails at once. */
	if ((r = load_card(a->cardfile, &card)) != 0)
		return jpki_cli_fail(prog, r);
	apdus_left = remove_after;
	while (!sig_term) {
		if (removed) {
			/* Out of the reader until SIGUSR2 (or the end). */
			if (wait_for(-1, 0, -1) == W_SIGNAL && sig_insert && !sig_term) {
				sig_insert = sig_remove = 0;
				removed = 0;
				apdus_left = remove_after;
				/* Reload: the file may have been changed while the card was out. */
				jpki_card_free(card);
				card = NULL;
				if ((r = load_card(a->cardfile, &card)) != 0) {
					rc = jpki_cli_fail(prog, r);
					goto out;
				}
				logmsg("card inserted (SIGUSR2)");
			}
			continue;
		}
		sig_remove = 0;
		if ((fd = vpcd_connect(host, port, why, sizeof(why))) < 0) {
			if (sig_term)
				break;
			failures++;
			if (failures == 1)
				logmsg("vpcd at %s:%s: %s; retrying", host, port, why);
			if (!a->retry && failures >= RETRIES_DEFAULT) {
				jpki_set_detail("vpcd at %s:%s: %s (gave up after %d attempts; --retry "
				                "keeps trying)", host, port, why, failures);
				rc = jpki_cli_fail(prog, JPKI_ERR_NET);
				goto out;
			}
			(void)wait_for(-1, 0, backoff);
			backoff = backoff * 2 > BACKOFF_MAX_MS ? BACKOFF_MAX_MS : backoff * 2;
			continue;
		}
		failures = 0;
		backoff = BACKOFF_MIN_MS;
		jpki_card_reset(card);
		logmsg("card inserted into vpcd at %s:%s", host, port);
		s = serve(fd, card, a, &apdus_left, &card_err);
		close(fd);
		fd = -1;
		jpki_card_reset(card);
		switch (s) {
		case S_TERM:
			break;
		case S_REMOVE:
			removed = 1;
			sig_remove = 0;
			logmsg("card removed (%s); SIGUSR2 inserts it", apdus_left == 0 && remove_after ?
			       "--remove-after" : "SIGUSR1");
			break;
		case S_CARD_DEAD:
			rc = jpki_cli_fail(prog, card_err);
			goto out;
		default:
			logmsg("vpcd at %s:%s closed the connection; reconnecting", host, port);
			(void)wait_for(-1, 0, BACKOFF_MIN_MS);
			break;
		}
	}
	logmsg("stopped");
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	jpki_card_free(card);
	return rc;
}

/* ---- new ----------------------------------------------------------------------- */

static int
cmd_new(struct args *a)
{
	EVP_PKEY *k = NULL;
	uint8_t *spki = NULL;
	int len, r, rc;

	if (a->cardfile == NULL)
		return jpki_cli_usage_error(prog, "new: CARDFILE is required");
	if (a->issuer_key == NULL)
		return jpki_cli_usage_error(prog, "new: --issuer-key FILE is required");
	if ((r = load_issuer_key(a->issuer_key, 0, &k)) != 0)
		return jpki_cli_fail(prog, r);
	if ((len = i2d_PUBKEY(k, &spki)) <= 0) {
		ERR_clear_error();
		rc = jpki_cli_fail(prog, JPKI_ERR_CRYPTO);
		goto out;
	}
	r = jpki_card_create(a->cardfile, a->y2004 ? JPKI_CARD_2004 : JPKI_CARD_MYNUMBER, spki,
	                     (size_t)len);
	if (r == JPKI_ERR_EXISTS && *jpki_detail() == '\0')
		jpki_set_detail("%s: a card file is there already", a->cardfile);
	rc = r ? jpki_cli_fail(prog, r) : 0;
out:
	OPENSSL_free(spki);
	EVP_PKEY_free(k);
	return rc;
}

/* ---- personalize ------------------------------------------------------------------ */

static int
write_pem(const char *dir, const char *name, X509 *x)
{
	char path[PATH_MAX];
	BIO *b = NULL;
	char *pem;
	long n;
	int r = JPKI_ERR_CRYPTO;

	if ((size_t)snprintf(path, sizeof(path), "%s/%s", dir, name) >= sizeof(path))
		return JPKI_ERR_INVALID_ARG;
	if ((b = BIO_new(BIO_s_mem())) == NULL || PEM_write_bio_X509(b, x) != 1 ||
	    (n = BIO_get_mem_data(b, &pem)) <= 0)
		goto out;
	r = jpki_file_write_atomic(path, pem, (size_t)n, 0644);
out:
	ERR_clear_error();
	BIO_free(b);
	return r;
}

/* Write an X509 into a certificate EF. */
static int
put_cert(jpki_reader_t *rd, uint16_t fid, X509 *x)
{
	uint8_t *der = NULL;
	int len, r;

	if ((len = i2d_X509(x, &der)) <= 0) {
		ERR_clear_error();
		return JPKI_ERR_CRYPTO;
	}
	r = jpki_token_write_cert(rd, fid, der, (size_t)len);
	OPENSSL_free(der);
	return r;
}

static void
print_issued(const char *kind, const jpki_issued_t *is)
{
	char hex[2 * JPKI_SERIAL_MAX + 1], na[96];

	jpki_serial_hex(is->serial, is->serial_len, hex, sizeof(hex));
	jpki_cli_iso_time(is->not_after, na, sizeof(na));
	printf("%s\t%s\t%s\t%s\n", kind, hex, is->cn, na);
}

static int
cmd_personalize(struct args *a)
{
	jpki_card_t *card = NULL;
	jpki_reader_t *rd = NULL;
	jpki_ca_t *ca = NULL;
	EVP_PKEY *issuer = NULL, *auth_pub = NULL, *sign_pub = NULL;
	jpki_issued_t is_auth, is_sign;
	jpki_issue_req_t req;
	jpki_person_t person;
	jpki_date_t card_exp;
	jpki_card_kind_t kind;
	char label[JPKI_TOKEN_LABEL_MAX];
	int want_auth, want_sign, r, rc = 1;

	memset(&is_auth, 0, sizeof(is_auth));
	memset(&is_sign, 0, sizeof(is_sign));
	memset(&person, 0, sizeof(person));
	memset(&req, 0, sizeof(req));
	if (a->cardfile == NULL)
		return jpki_cli_usage_error(prog, "personalize: CARDFILE is required");
	if (a->issuer_key == NULL || a->ca_dir == NULL)
		return jpki_cli_usage_error(prog, "personalize: --issuer-key FILE and --ca-dir DIR "
		                            "are required");
	if (a->dob == NULL)
		return jpki_cli_usage_error(prog, "personalize: --dob YYYY-MM-DD is required "
		                            "(validity, L4)");
	if (jpki_date_parse(a->dob, &person.dob) != 0)
		return jpki_cli_usage_error(prog, "--dob: '%s' is not a date (YYYY-MM-DD)", a->dob);
	if (a->card_expiry != NULL) {
		if (jpki_date_parse(a->card_expiry, &card_exp) != 0)
			return jpki_cli_usage_error(prog, "--card-expiry: '%s' is not a date "
			                            "(YYYY-MM-DD)", a->card_expiry);
		req.card_expiry = &card_exp;
	}
	if ((r = load_card(a->cardfile, &card)) != 0 ||
	    (r = jpki_reader_open_inproc(card, &rd)) != 0 ||
	    (r = jpki_token_select_ap(rd)) != 0 || (r = jpki_token_label(rd, label, &kind)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	/* L1: the 2004-era card carries only a signature certificate. */
	want_auth = kind == JPKI_CARD_MYNUMBER;
	want_sign = !a->no_sign;
	if (!want_auth && !want_sign) {
		rc = jpki_cli_usage_error(prog, "a 2004-era card holds only a signature "
		                          "certificate: drop --no-sign");
		goto out;
	}
	if (want_sign) {
		if (a->name == NULL || a->sex == NULL || a->address == NULL) {
			rc = jpki_cli_usage_error(prog, "a signature certificate needs --name, --sex "
			                          "and --address (or --no-sign)");
			goto out;
		}
		if (jpki_sex_parse(a->sex, &person.sex) != 0) {
			rc = jpki_cli_usage_error(prog, "--sex: '%s' is not 1 (male), 2 (female) or 9",
			                          a->sex);
			goto out;
		}
		person.name = a->name;
		person.address = a->address;
		if (!a->have_sign_pin) {
			rc = jpki_cli_usage_error(prog, "--sign-pin PASSWORD is required with a "
			                          "signature certificate");
			goto out;
		}
	}
	if (want_auth && !a->have_auth_pin) {
		rc = jpki_cli_usage_error(prog, "--auth-pin NNNN is required");
		goto out;
	}
	/* Refuse bad PINs before anything is written to the card. */
	if ((a->have_sign_pin && (r = jpki_token_pin_check(JPKI_PIN_SIGN, a->sign_pin, 1)) != 0) ||
	    (a->have_auth_pin && (r = jpki_token_pin_check(JPKI_PIN_AUTH, a->auth_pin, 1)) != 0) ||
	    (r = load_issuer_key(a->issuer_key, 1, &issuer)) != 0 ||
	    (r = jpki_ca_open(a->ca_dir, &ca)) != 0 ||
	    (r = jpki_token_issuer_auth(rd, issuer)) != 0) {
		rc = jpki_cli_fail(prog, r);
		goto out;
	}
	req.person = &person;
	req.gen = kind == JPKI_CARD_2004 ? JPKI_GEN_2004 : JPKI_GEN_MYNUMBER;
	if (want_auth) {
		req.kind = JPKI_CA_AUTH;
		if ((r = jpki_token_generate_key(rd, JPKI_PIN_AUTH, &auth_pub)) != 0)
			goto fail;
		req.pub = auth_pub;
		if ((r = jpki_ca_issue(ca, &req, &is_auth)) != 0)
			goto fail;
		if ((r = put_cert(rd, JPKI_EF_AUTH_CERT, is_auth.cert)) != 0)
			goto fail;
	}
	if (want_sign) {
		req.kind = JPKI_CA_SIGN;
		if ((r = jpki_token_generate_key(rd, JPKI_PIN_SIGN, &sign_pub)) != 0)
			goto fail;
		req.pub = sign_pub;
		if ((r = jpki_ca_issue(ca, &req, &is_sign)) != 0)
			goto fail;
		if ((r = put_cert(rd, JPKI_EF_SIGN_CERT, is_sign.cert)) != 0)
			goto fail;
	}
	/* L12: the trust anchors. */
	if ((want_auth && (r = put_cert(rd, JPKI_EF_AUTH_CA, jpki_ca_cert(ca, JPKI_CA_AUTH))) != 0) ||
	    (r = put_cert(rd, JPKI_EF_SIGN_CA, jpki_ca_cert(ca, JPKI_CA_SIGN))) != 0)
		goto fail;
	if ((a->have_auth_pin && (r = jpki_token_set_pin(rd, JPKI_PIN_AUTH, a->auth_pin)) != 0) ||
	    (a->have_sign_pin && (r = jpki_token_set_pin(rd, JPKI_PIN_SIGN, a->sign_pin)) != 0))
		goto fail;
	if (a->out != NULL) {
		if ((r = jpki_file_mkdirs(a->out, 0755)) != 0 ||
		    (want_auth && (r = write_pem(a->out, "auth.pem", is_auth.cert)) != 0) ||
		    (want_sign && (r = write_pem(a->out, "sign.pem", is_sign.cert)) != 0) ||
		    (r = write_pem(a->out, "auth-ca.pem", jpki_ca_cert(ca, JPKI_CA_AUTH))) != 0 ||
		    (r = write_pem(a->out, "sign-ca.pem", jpki_ca_cert(ca, JPKI_CA_SIGN))) != 0)
			goto fail;
	}
	/* The CA's audit log hears of every issuance, a test tool's too. */
	{
		jpki_audit_t au;
		char hex[2 * JPKI_SERIAL_MAX + 1];
		if (jpki_audit_open(&au, a->ca_dir, jpki_ca_store(ca), prog) == 0) {
			if (want_auth) {
				jpki_serial_hex(is_auth.serial, is_auth.serial_len, hex, sizeof(hex));
				(void)jpki_audit_appendf(&au, "jpki-card personalize", "issue", "auth", "ok",
				                         "%s on card file %s", hex, a->cardfile);
			}
			if (want_sign) {
				jpki_serial_hex(is_sign.serial, is_sign.serial_len, hex, sizeof(hex));
				(void)jpki_audit_appendf(&au, "jpki-card personalize", "issue", "sign", "ok",
				                         "%s on card file %s", hex, a->cardfile);
			}
		}
		jpki_audit_clear(&au);
	}
	if (want_auth)
		print_issued("auth", &is_auth);
	if (want_sign)
		print_issued("sign", &is_sign);
	rc = 0;
	goto out;
fail:
	rc = jpki_cli_fail(prog, r);
out:
	jpki_issued_clear(&is_auth);
	jpki_issued_clear(&is_sign);
	EVP_PKEY_free(auth_pub);
	EVP_PKEY_free(sign_pub);
	EVP_PKEY_free(issuer);
	jpki_ca_close(ca);
	jpki_reader_close(rd);
	jpki_card_free(card);
	return rc;
}

/* ---- info ------------------------------------------------------------------------ */

static void
show_cert(jpki_reader_t *rd, uint16_t fid, const char *what)
{
	X509 *x = NULL;
	BIO *b = NULL;
	char *subj = NULL, na[96] = "";
	const ASN1_TIME *t;
	struct tm tm;
	long n = 0;
	int r;

	r = jpki_token_read_x509(rd, fid, &x);
	printf("EF %04X %-34s ", fid, what);
	if (r == 0) {
		/* The subject on one line, UTF-8 kept as is. */
		if ((b = BIO_new(BIO_s_mem())) != NULL &&
		    X509_NAME_print_ex(b, X509_get_subject_name(x), 0,
		                       XN_FLAG_ONELINE & ~ASN1_STRFLGS_ESC_MSB) >= 0)
			n = BIO_get_mem_data(b, &subj);
		if ((t = X509_get0_notAfter(x)) != NULL && ASN1_TIME_to_tm(t, &tm) == 1)
			strftime(na, sizeof(na), "%Y-%m-%dT%H:%M:%SZ", &tm);
		printf("%d bytes, notAfter %s, %.*s\n", i2d_X509(x, NULL), na, (int)n,
		       subj ? subj : "");
		BIO_free(b);
	} else if (r == JPKI_ERR_NOT_FOUND) {
		printf("empty\n");
	} else if (r == JPKI_ERR_SECURITY) {
		printf("readable only after the signing password (--sign-pin)\n");
	} else {
		printf("unreadable: %s: %s\n", jpki_strerror(r), jpki_detail());
	}
	ERR_clear_error();
	X509_free(x);
}

static int
cmd_info(struct args *a)
{
	static const char *const pin_names[2] = {"authentication PIN", "signing password"};
	jpki_card_t *card = NULL;
	jpki_reader_t *rd = NULL;
	EVP_PKEY *issuer = NULL, *pub = NULL;
	jpki_card_kind_t kind;
	char label[JPKI_TOKEN_LABEL_MAX];
	int r, rc = 1, i, tries, n = 0;

	n = (a->cardfile != NULL) + (a->pcsc != 0) + (a->reader != NULL);
	if (n != 1)
		return jpki_cli_usage_error(prog, "info: give one of CARDFILE, --pcsc, --reader NAME");
	if (a->cardfile != NULL) {
		if ((r = load_card(a->cardfile, &card)) != 0 ||
		    (r = jpki_reader_open_inproc(card, &rd)) != 0)
			goto fail;
	} else if ((r = jpki_reader_open_pcsc(a->reader, &rd)) != 0) {
		goto fail;
	}
	if (a->issuer_key != NULL && (r = load_issuer_key(a->issuer_key, 1, &issuer)) != 0)
		goto fail;
	if ((r = jpki_token_select_ap(rd)) != 0 || (r = jpki_token_label(rd, label, &kind)) != 0)
		goto fail;
	printf("reader  %s\n", jpki_reader_name(rd));
	printf("label   %s (%s)\n", label, kind == JPKI_CARD_2004 ?
	       "Basic Resident Registration card, 2004" : "Individual Number Card");
	for (i = 0; i < 2; i++) {
		if ((r = jpki_token_pin_status(rd, (jpki_pin_kind_t)i, &tries)) != 0)
			goto fail;
		if (tries == 0)
			printf("%-18s blocked (or not set)\n", pin_names[i]);
		else
			printf("%-18s %d tr%s left\n", pin_names[i], tries, tries == 1 ? "y" : "ies");
	}
	show_cert(rd, JPKI_EF_AUTH_CERT, "authentication certificate");
	show_cert(rd, JPKI_EF_AUTH_CA, "User-Authentication CA certificate");
	if (a->have_sign_pin) {
		if ((r = jpki_token_verify_pin(rd, JPKI_PIN_SIGN, a->sign_pin, NULL)) != 0)
			goto fail;
	}
	show_cert(rd, JPKI_EF_SIGN_CERT, "signature certificate");
	show_cert(rd, JPKI_EF_SIGN_CA, "Signing CA certificate");
	if (issuer != NULL) {
		/* Issuer authentication re-selects the AP: the logout, so it comes last. */
		if ((r = jpki_token_issuer_auth(rd, issuer)) != 0)
			goto fail;
		for (i = 0; i < 2; i++) {
			r = jpki_token_read_pubkey(rd, (jpki_pin_kind_t)i, &pub);
			printf("%-18s %s\n", i == 0 ? "authentication key" : "signature key",
			       r == 0 ? "RSA-2048" : r == JPKI_ERR_NOT_FOUND ? "none" : "unreadable");
			EVP_PKEY_free(pub);
			pub = NULL;
			if (r != 0 && r != JPKI_ERR_NOT_FOUND)
				goto fail;
		}
	}
	rc = 0;
	goto out;
fail:
	rc = jpki_cli_fail(prog, r);
out:
	EVP_PKEY_free(issuer);
	jpki_reader_close(rd);
	jpki_card_free(card);
	return rc;
}

static int
cmd_readers(void)
{
	char **names = NULL;
	size_t i, n = 0;
	int r;

	if ((r = jpki_reader_list(&names, &n)) != 0)
		return jpki_cli_fail(prog, r);
	for (i = 0; i < n; i++)
		printf("%s\n", names[i]);
	jpki_reader_list_free(names);
	return 0;
}

int
main(int argc, char **argv)
{
	struct args a;
	const char *cmd;
	int c, rc;

	memset(&a, 0, sizeof(a));
	while ((c = getopt_long(argc, argv, "+hV", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage(stdout); return 0;
		case 'V': printf("jpki-card (OpenJPKI) 0.1.0\n"); return 0;
		default: return jpki_cli_usage_error(prog, "unknown option");
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return JPKI_EXIT_USAGE;
	}
	cmd = argv[optind];
	if (strcmp(cmd, "run") && strcmp(cmd, "new") && strcmp(cmd, "personalize") &&
	    strcmp(cmd, "info") && strcmp(cmd, "readers"))
		return jpki_cli_usage_error(prog, "unknown command '%s'", cmd);
	/* The command's own options, in any order around CARDFILE: a fresh scan
	 * (optind 0 re-initializes GNU getopt) of the arguments after the command. */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt_long(argc, argv, "hv", longopts, NULL)) != -1) {
		switch (c) {
		case 'h': usage_cmd(cmd); return 0;
		case 'v': a.verbose = 1; break;
		case O_HOST: a.host = optarg; break;
		case O_PORT: a.port = optarg; break;
		case O_RETRY: a.retry = 1; break;
		case O_REMOVE_AFTER: a.remove_after = optarg; break;
		case O_ISSUER_KEY: a.issuer_key = optarg; break;
		case O_2004: a.y2004 = 1; break;
		case O_CA_DIR: a.ca_dir = optarg; break;
		case O_NAME: a.name = optarg; break;
		case O_DOB: a.dob = optarg; break;
		case O_SEX: a.sex = optarg; break;
		case O_ADDRESS: a.address = optarg; break;
		case O_SIGN_PIN:
			if (take_pin(optarg, a.sign_pin, &a.have_sign_pin) != 0)
				return jpki_cli_usage_error(prog, "--sign-pin: too long");
			break;
		case O_AUTH_PIN:
			if (take_pin(optarg, a.auth_pin, &a.have_auth_pin) != 0)
				return jpki_cli_usage_error(prog, "--auth-pin: too long");
			break;
		case O_NO_SIGN: a.no_sign = 1; break;
		case O_CARD_EXPIRY: a.card_expiry = optarg; break;
		case O_OUT: a.out = optarg; break;
		case O_PCSC: a.pcsc = 1; break;
		case O_READER: a.reader = optarg; break;
		default:
			OPENSSL_cleanse(&a, sizeof(a));
			return jpki_cli_usage_error(prog, "bad option for '%s'", cmd);
		}
	}
	if (optind < argc && strcmp(cmd, "readers") != 0)
		a.cardfile = argv[optind++];
	if (optind < argc) {
		OPENSSL_cleanse(&a, sizeof(a));
		return jpki_cli_usage_error(prog, "unexpected argument '%s'", argv[optind]);
	}
	if (!strcmp(cmd, "run"))
		rc = cmd_run(&a);
	else if (!strcmp(cmd, "new"))
		rc = cmd_new(&a);
	else if (!strcmp(cmd, "personalize"))
		rc = cmd_personalize(&a);
	else if (!strcmp(cmd, "info"))
		rc = cmd_info(&a);
	else
		rc = cmd_readers();
	OPENSSL_cleanse(&a, sizeof(a));
	return rc;
}
